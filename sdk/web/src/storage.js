// Where the SDK keeps what must survive a reload: the device id and the events not yet accepted.
// localStorage when the page has it, else memory; a full or forbidden storage never throws.

/**
 * @typedef {object} KeyValueStore
 * @property {(key: string) => string | null} getItem
 * @property {(key: string, value: string) => void} setItem
 * @property {(key: string) => void} removeItem
 */

/** A store that forgets at reload: for pages without (or forbidding) localStorage. */
export function memoryStore() {
  /** @type {Map<string, string>} */
  const items = new Map();
  /** @type {KeyValueStore} */
  const store = {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
  return store;
}

/** @returns {KeyValueStore} */
export function defaultStore() {
  try {
    const store = globalThis.localStorage;
    if (store) {
      const probe = "herald:probe";
      store.setItem(probe, "1");
      store.removeItem(probe);
      return store;
    }
  } catch {
    // Blocked (privacy settings, sandboxed frame): fall through to memory.
  }
  return memoryStore();
}

/** JSON values under one prefix (`herald:<app id>:`), tolerant of corrupt or foreign data. */
export class Storage {
  /** @param {KeyValueStore} store @param {string} prefix */
  constructor(store, prefix) {
    this.store = store;
    this.prefix = prefix;
    /** Values the store refused (full, blocked): kept here until it takes them again. */
    this.memory = new Map();
  }

  /**
   * @template T
   * @param {string} key
   * @param {T} fallback
   * @returns {T}
   */
  read(key, fallback) {
    if (this.memory.has(key)) return this.memory.get(key);
    try {
      const text = this.store.getItem(this.prefix + key);
      return text === null ? fallback : JSON.parse(text);
    } catch {
      return fallback;
    }
  }

  /**
   * Whether the value was stored (false when the storage is full or refuses).
   * @param {string} key
   * @param {unknown} value
   */
  write(key, value) {
    try {
      this.store.setItem(this.prefix + key, JSON.stringify(value));
      this.memory.delete(key);
      return true;
    } catch {
      this.memory.set(key, value);
      return false;
    }
  }

  /** @param {string} key */
  remove(key) {
    this.memory.delete(key);
    try {
      this.store.removeItem(this.prefix + key);
    } catch {
      // nothing to do: the value stays, harmlessly
    }
  }
}
