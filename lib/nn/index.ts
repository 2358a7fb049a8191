/** tn.nn: layers and their stateless forms (`tn.nn.functional`). */
export * as functional from './functional';
