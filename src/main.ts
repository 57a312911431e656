/**
 * Process entry. Node's on-disk compile cache goes on before any other module is loaded (Node
 * 22.1+; a no-op on older lines): a restart then reuses V8's compiled code for the whole module
 * graph instead of compiling it again, the largest part of start-up time (issue 17). The cache
 * lives in the OS temporary directory, or in NODE_COMPILE_CACHE when set; where it cannot be
 * written, Node starts without it.
 */
import module from 'node:module';

module.enableCompileCache?.();
await import('./start.js');
