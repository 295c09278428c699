// The module the runner writes for each execution (src/codemode/source.rs, loaded as
// `program.js`): the user's code as the body of its default export, and the loop guard's flag.

/** Runs the user's code with the console and one object per upstream namespace, in the order of `RunRequest.bindings`. */
export default function program(...bindings: unknown[]): Promise<unknown>;

/** Whether the loop guard's step budget ran out (src/codemode/loop_guard.rs). */
export function __mirLoopLimitHit(): boolean;
