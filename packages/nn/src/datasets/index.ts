/** Ready-made datasets (torchvision.datasets' role). */
export { FashionMNIST, FASHION_MNIST_ROOT, type FashionMNISTOptions } from './fashion-mnist.js';
