// @ts-check
// The built-ins the harness relies on, captured before the program's module is evaluated.
//
// The program shares this isolate and may replace or wrap any built-in (`JSON.stringify`,
// `Array.prototype.push`, `Promise.prototype.then`, getters on `Object.prototype`, ...). The
// harness calls only these captured functions, through `ReflectApply` where a receiver is
// needed, and keeps its own state in null-prototype objects, so nothing the program plants is
// triggered by the harness's own work. This module is imported before the program's, so ES
// module evaluation order guarantees it runs first.

export const ReflectApply = Reflect.apply;
export const ReflectDefineProperty = Reflect.defineProperty;
export const ReflectDeleteProperty = Reflect.deleteProperty;
export const ReflectGetOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
export const ReflectSetPrototypeOf = Reflect.setPrototypeOf;
export const ObjectCreate = Object.create;
export const ObjectFreeze = Object.freeze;
export const JSONParse = JSON.parse;
export const JSONStringify = JSON.stringify;
export const DateNow = Date.now;
export const StringOf = String;
export const IntrinsicError = Error;
export const IntrinsicRegExp = RegExp;
export const IntrinsicMap = Map;
export const IntrinsicProxy = Proxy;
export const MapGet = Map.prototype.get;
export const MapSet = Map.prototype.set;
export const StringSlice = String.prototype.slice;

/** A fresh object with no prototype, so no inherited accessor sees it. */
export function record() {
  return ObjectCreate(null);
}

/** A fresh array with no prototype: `JSON.stringify` looks up no `toJSON` on it. */
export function list() {
  const array = [];
  ReflectSetPrototypeOf(array, null);
  return array;
}

/** Sets `target[key]` as an own data property, whatever setters sit on its prototypes. */
export function define(target, key, value) {
  ReflectDefineProperty(target, key, descriptor({ __proto__: null, value, writable: true, enumerable: true, configurable: true }));
}

/**
 * `fields` as a property descriptor. Written as `{ __proto__: null, ... }` literals, descriptors
 * inherit no `get` or `set` a program planted on `Object.prototype`.
 * @param {object} fields
 * @returns {PropertyDescriptor}
 */
export function descriptor(fields) {
  return fields;
}
