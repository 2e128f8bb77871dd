/**
 * The provider is built after the features (it takes their `providerOptions`), but features hold
 * it from the start and use it when requests come. This stands in for it until the composition
 * root sets it, and refuses any use before that.
 */
import type Provider from 'oidc-provider';

export function lateProvider(): { provider: Provider; set(provider: Provider): void } {
  let actual: Provider | undefined;
  // Requests use it on hot paths: each method is bound once, not on every access.
  const bound = new Map<PropertyKey, { of: unknown; fn: unknown }>();
  const provider = new Proxy({} as Provider, {
    get(_target, prop) {
      if (!actual) throw new Error(`the provider was used (${String(prop)}) before it was built`);
      const value = Reflect.get(actual, prop, actual) as unknown;
      // Methods run on the provider itself; its model classes (Client, Session, …) are passed as they are.
      const isMethod =
        typeof value === 'function' && !Object.prototype.hasOwnProperty.call(value, 'prototype');
      if (!isMethod) return value;
      const known = bound.get(prop);
      if (known?.of === value) return known.fn;
      const fn = (value as (...a: unknown[]) => unknown).bind(actual);
      bound.set(prop, { of: value, fn });
      return fn;
    },
    set(_target, prop, value) {
      if (!actual) throw new Error('the provider was changed before it was built');
      return Reflect.set(actual, prop, value, actual);
    },
  });
  return {
    provider,
    set(p) {
      actual = p;
    },
  };
}
