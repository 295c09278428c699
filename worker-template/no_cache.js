// @ts-check
// The isolate keeps no Cache API, so a program has nowhere to leave data for a later execution.
//
// The runtime gives every isolate `caches`. Locally it is backed by nothing ("No Cache was
// configured"); whether production backs a dynamic isolate's `caches` with a cache that outlives
// it is not documented, and where such a cache is shared it would carry data from one execution,
// or one person's session, to the next. A program needs no cache, so this module removes it
// before the program's module is evaluated (the harness imports it first, and ES module
// evaluation order runs it first): the program never holds a reference it could keep. The
// runtime's `cloudflare:workers` module, whose `cache` export reaches the Worker's cache
// context, is out of reach as well: the runner refuses every `import()` before the isolate
// starts (src/codemode/forbidden.rs).
//
// If the runtime ever makes `caches` impossible to remove, the isolate fails to start rather
// than run a program beside it.

import { IntrinsicError, ReflectDeleteProperty } from "./primordials.js";

if (!ReflectDeleteProperty(globalThis, "caches") || "caches" in globalThis) {
  throw new IntrinsicError("the runtime's Cache API could not be removed from the isolate");
}
