export { dropout, dropPath } from './dropout.js';
