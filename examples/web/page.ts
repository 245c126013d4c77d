/** What both demo pages share: element lookup, error text, and yielding to the browser in long loops. */

export const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

export const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** Lets the browser paint (and stay responsive) during a long loop, at most every ~30 ms. */
let lastYield = 0;
export async function breathe(force = false): Promise<void> {
  if (!force && performance.now() - lastYield < 30) return;
  await new Promise((r) => setTimeout(r, 0));
  lastYield = performance.now();
}

/** The page's state as the body's and the status line's `data-state`, and the status text; whether it is busy (loading or running). */
export function showState(state: 'loading' | 'idle' | 'running' | 'done' | 'error', message: string): boolean {
  document.body.dataset['state'] = state;
  const status = $('status');
  status.dataset['state'] = state;
  status.textContent = message;
  return state === 'running' || state === 'loading';
}
