import type { Logger } from 'pino';

/**
 * The parts of a running process, each with its closer, kept in the order they started. They
 * close in the reverse order, once: so whatever starts later, and may depend on an earlier part
 * (the listener on the store), stops first. A start that fails half-way closes what it started
 * with the same list, so a failed start leaves nothing running.
 */
export class ProcessParts {
  readonly #logger: Logger;
  readonly #closers: Array<{ name: string; close: () => Promise<void> | void }> = [];
  #closing: Promise<void> | null = null;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Records a started part and how to close it; returns the part. */
  add<Part>(name: string, part: Part, close: (part: Part) => Promise<void> | void): Part {
    this.#closers.push({ name, close: () => close(part) });
    return part;
  }

  /**
   * Closes every part, newest first. A closer that fails is logged and the others still run;
   * the first failure is then thrown, so a failed stop exits 1.
   */
  closeAll(): Promise<void> {
    this.#closing ??= this.#closeInReverse();
    return this.#closing;
  }

  async #closeInReverse(): Promise<void> {
    const failures: unknown[] = [];
    for (const { name, close } of this.#closers.reverse()) {
      try {
        await close();
      } catch (error) {
        this.#logger.error({ err: error, part: name }, 'failed to close part');
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}
