// @ts-check
// Regular expressions that can backtrack catastrophically are refused before they run.
//
// A pattern such as /^(a+)+$/ takes exponential time on a subject like "aaaa…!", all of it
// synchronous: no loop for the loop guard to count, and local workerd enforces no CPU limit,
// so one such match would hold every session of the runtime. Every way a program can run a
// pattern (`exec`, `test`, and the `Symbol.match`/`matchAll`/`replace`/`search`/`split`
// methods that `String.prototype` delegates to, string patterns included) goes through
// RegExp.prototype; this module wraps each of those methods with a check of the pattern's
// shape, removes `compile` (which would change a checked pattern mid-match), and freezes
// RegExp and its prototype so the checks cannot be taken off.
//
// The check refuses the two shapes behind exponential backtracking: a repetition of something
// that itself contains an unbounded repetition (star height 2: `(a+)+`, `(\w+\s?)*`,
// `(.*,){20}`), and a repetition of a choice whose alternatives may match the same text (all
// but distinct single characters: `(a|aa)+`, `(a|[a-z])*`). It is conservative: some harmless patterns of that shape are refused too, and
// the error says how to rewrite them. Polynomial backtracking (`\s*$` over long text) is not
// refused; the platform's CPU limit (`cpuMs`) bounds it in production.

import {
  IntrinsicError,
  IntrinsicMap,
  IntrinsicRegExp,
  MapGet,
  MapSet,
  ObjectFreeze,
  ReflectApply,
  ReflectDefineProperty,
  ReflectGetOwnPropertyDescriptor,
  StringOf,
  descriptor,
  record,
} from "./primordials.js";

/** Repetitions with a larger upper bound than this count as unbounded. */
const UNBOUNDED = 32;

const prototype = IntrinsicRegExp.prototype;
/**
 * The getter of the accessor `RegExp.prototype[key]`.
 * @param {string} key
 */
const getterOf = (key) => /** @type {() => string} */ (/** @type {PropertyDescriptor} */ (ReflectGetOwnPropertyDescriptor(prototype, key)).get);
const sourceOf = getterOf("source");
const flagsOf = getterOf("flags");
/** Verdicts by pattern source: null when safe, else why not. */
const verdicts = new IntrinsicMap();

/** `source[i]`, or "" past its end (so no index ever reaches String.prototype). */
const at = (source, i) => (i < source.length ? source[i] : "");

/**
 * A group of the pattern, or an atom. `unbounded`: it contains an unbounded repetition.
 * `ambiguous`: a group with alternatives that are not all distinct literal characters, so two
 * of them may match the same text (`(a|aa)`, `(a|a)`, `(a|[a-z])`). `literal`: the character
 * of a plain one-character atom. While a group is open, `atoms` counts the atoms of its current
 * alternative, `last` is the literal of its only atom, and `seen` the literals of earlier
 * one-character alternatives.
 */
function part(unbounded, literal = null) {
  const value = record();
  value.unbounded = unbounded;
  value.literal = literal;
  value.choice = false;
  value.wide = false;
  value.atoms = 0;
  value.last = null;
  value.seen = "";
  value.ambiguous = false;
  return value;
}

/** Counts `atom` into `group`'s current alternative. */
function add(group, atom) {
  group.atoms += 1;
  group.last = group.atoms === 1 ? atom.literal : null;
}

/** Ends `group`'s current alternative: a wide or repeated one makes the group wide. */
function endAlternative(group) {
  const literal = group.atoms === 1 ? group.last : null;
  let repeated = false;
  for (let j = 0; j < group.seen.length; j += 1) {
    repeated = repeated || at(group.seen, j) === literal;
  }
  if (literal === null || repeated) {
    group.wide = true;
  } else {
    group.seen += literal;
  }
  group.atoms = 0;
  group.last = null;
}

/** The index just past a group's opening: `(`, `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`. */
function groupStart(source, i) {
  if (at(source, i + 1) !== "?") {
    return i + 1;
  }
  const kind = at(source, i + 2);
  if (kind === "<" && at(source, i + 3) !== "=" && at(source, i + 3) !== "!") {
    let j = i + 3;
    while (j < source.length && at(source, j) !== ">") {
      j += 1;
    }
    return j + 1;
  }
  return kind === "<" ? i + 4 : i + 3;
}

/**
 * Why `source` can backtrack catastrophically, or null. Written against the program: it runs
 * while the program runs, so it calls no method a program could have replaced.
 */
export function catastrophe(source) {
  // The open groups, innermost last, in a null-prototype object indexed from 0.
  const groups = record();
  let depth = 0;
  groups[0] = part(false);
  /** @type {ReturnType<typeof part> | null} */
  let atom = null;
  let i = 0;
  while (i < source.length) {
    const c = at(source, i);
    if (c === "\\" || c === "[") {
      i = c === "[" ? classEnd(source, i) : i + 2;
      atom = part(false);
      add(groups[depth], atom);
    } else if (c === "(") {
      depth += 1;
      groups[depth] = part(false);
      i = groupStart(source, i);
      atom = null;
    } else if (c === ")") {
      const group = depth > 0 ? groups[depth] : part(false);
      depth = depth > 0 ? depth - 1 : 0;
      endAlternative(group);
      group.ambiguous = group.choice && group.wide;
      if (group.unbounded) {
        groups[depth].unbounded = true;
      }
      add(groups[depth], group);
      i += 1;
      atom = group;
    } else if (c === "|") {
      groups[depth].choice = true;
      endAlternative(groups[depth]);
      i += 1;
      atom = null;
    } else {
      const quantifier = quantifierAt(source, i);
      if (quantifier === null) {
        i += 1;
        atom = part(false, c === "." || c === "^" || c === "$" ? null : c);
        add(groups[depth], atom);
        continue;
      }
      if (atom !== null && quantifier.max > 1) {
        if (atom.unbounded) {
          return `it repeats a group that itself repeats without bound (at offset ${i}), which can take exponential time`;
        }
        if (atom.ambiguous) {
          return `it repeats a choice between alternatives that can match the same text (at offset ${i}), which can take exponential time; repeat a character class, or alternatives that are distinct single characters`;
        }
      }
      groups[depth].last = null;
      if (quantifier.max > UNBOUNDED) {
        groups[depth].unbounded = true;
      }
      i = quantifier.end;
      atom = null;
    }
  }
  return null;
}

/** The index just past the character class that opens at `start`. */
function classEnd(source, start) {
  let depth = 0;
  for (let i = start; i < source.length; i += 1) {
    const c = at(source, i);
    if (c === "\\") {
      i += 1;
    } else if (c === "[") {
      depth += 1;
    } else if (c === "]") {
      depth -= 1;
      if (depth === 0) {
        return i + 1;
      }
    }
  }
  return source.length;
}

/** The quantifier at `i` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each maybe lazy), or null. */
function quantifierAt(source, i) {
  const c = at(source, i);
  const quantifier = record();
  quantifier.end = i + 1;
  if (c === "*" || c === "+") {
    quantifier.max = Infinity;
  } else if (c === "?") {
    quantifier.max = 1;
  } else if (c === "{") {
    let j = i + 1;
    const digits = () => {
      let text = "";
      while (at(source, j) >= "0" && at(source, j) <= "9") {
        text += at(source, j);
        j += 1;
      }
      return text;
    };
    const min = digits();
    if (min === "") {
      return null;
    }
    let upper = min;
    if (at(source, j) === ",") {
      j += 1;
      upper = digits();
    }
    if (at(source, j) !== "}") {
      return null;
    }
    quantifier.max = upper === "" ? Infinity : +upper;
    quantifier.end = j + 1;
  } else {
    return null;
  }
  if (at(source, quantifier.end) === "?") {
    quantifier.end += 1;
  }
  return quantifier;
}

/** The error a program gets for a refused pattern. */
function refusal(source, why) {
  const error = new IntrinsicError(
    `the regular expression /${source}/ was not run: ${why}. Rewrite it without a repetition ` +
      "inside a repetition (for example match the pieces one at a time, or split the text " +
      "first and test each part)",
  );
  ReflectDefineProperty(error, "name", descriptor({ __proto__: null, value: "UnsafeRegExp", configurable: true, writable: true }));
  return error;
}

/** Checks the pattern of `regexp` (a real RegExp); throws UnsafeRegExp when it is refused. */
function check(regexp) {
  const source = ReflectApply(sourceOf, regexp, []);
  let verdict = ReflectApply(MapGet, verdicts, [source]);
  if (verdict === undefined) {
    verdict = catastrophe(source);
    ReflectApply(MapSet, verdicts, [source, verdict]);
  }
  if (verdict !== null) {
    throw refusal(source, verdict);
  }
}

/** Whether `value` is a RegExp object (the `source` getter accepts only those). */
function isRegExp(value) {
  try {
    ReflectApply(sourceOf, value, []);
    return true;
  } catch {
    return false;
  }
}

/** A method that checks `this` pattern, then runs the original on `this`. */
function checked(original) {
  /** @this {unknown} */
  return function (...args) {
    if (isRegExp(this)) {
      check(this);
    }
    return ReflectApply(original, this, args);
  };
}

/**
 * A method that checks `this` pattern, then runs the original on a fresh RegExp with the same
 * pattern: `split` and `matchAll` build a new RegExp through `this.constructor`, which a
 * subclass could point at an unchecked pattern.
 */
function onFreshCopy(original) {
  /** @this {RegExp} */
  return function (...args) {
    if (!isRegExp(this)) {
      return ReflectApply(original, this, args);
    }
    check(this);
    const copy = new IntrinsicRegExp(ReflectApply(sourceOf, this, []), StringOf(ReflectApply(flagsOf, this, [])));
    copy.lastIndex = this.lastIndex;
    return ReflectApply(original, copy, args);
  };
}

const wrap = (key, make) => {
  const original = prototype[key];
  ReflectDefineProperty(prototype, key, descriptor({ __proto__: null, value: make(original), writable: false, enumerable: false, configurable: false }));
};
wrap("exec", checked);
wrap("test", checked);
wrap(Symbol.match, checked);
wrap(Symbol.replace, checked);
wrap(Symbol.search, checked);
wrap(Symbol.matchAll, onFreshCopy);
wrap(Symbol.split, onFreshCopy);
delete /** @type {{ compile?: unknown }} */ (prototype).compile;
ObjectFreeze(prototype);
ObjectFreeze(IntrinsicRegExp);
