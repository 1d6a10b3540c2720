// Module: a PyTorch-like container of parameters, buffers and child modules.
//
// A module owns its parameters and buffers: they are kept out of every scope
// (tidy) and freed by dispose(). Calling a module goes through call(), which
// runs the forward pre-hooks, forward() and the forward hooks, in that order.
import { Tensor, noGrad, tidy, zeros } from '../tensor/index.js';
import { TsnasError } from '../errors.js';

/** Runs after forward(); returning a tensor (or output) replaces the output. */
export type ForwardHook<I extends unknown[] = [Tensor], O = Tensor> = (
  module: Module<I, O>,
  input: I,
  output: O,
) => O | void;
/** Runs before forward(); returning an array replaces the arguments. */
export type ForwardPreHook<I extends unknown[] = [Tensor], O = Tensor> = (module: Module<I, O>, input: I) => I | void;
/** Removes the hook it was returned for. */
export type HookRemover = () => void;

export interface LoadStateDictOptions {
  /** Fail on keys that are missing from, or unexpected in, the dict (default true). */
  strict?: boolean;
}
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

// Any module, whatever its forward signature.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any, any>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type UntypedHook = (module: any, input: any, output?: any) => unknown;

export abstract class Module<I extends unknown[] = [Tensor], O = Tensor> {
  /** Training mode (dropout active, batch norm uses batch statistics). */
  training = true;
  readonly #parameters = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #nonPersistent = new Set<string>();
  readonly #children = new Map<string, AnyModule | null>();
  // Stored untyped: typed storage would make Module invariant in I and O.
  readonly #forwardHooks = new Map<number, UntypedHook>();
  readonly #preHooks = new Map<number, UntypedHook>();
  #nextHookId = 0;
  #disposed = false;

  abstract forward(...input: I): O;

  /** Runs the module: pre-hooks, forward(), then forward hooks. */
  call(...input: I): O {
    let args = input;
    if (this.#preHooks.size > 0) {
      for (const hook of [...this.#preHooks.values()]) {
        const replaced = hook(this, args) as I | undefined;
        if (replaced !== undefined) args = replaced;
      }
    }
    let output = this.forward(...args);
    if (this.#forwardHooks.size > 0) {
      for (const hook of [...this.#forwardHooks.values()]) {
        const replaced = hook(this, args, output) as O | undefined;
        if (replaced !== undefined) output = replaced;
      }
    }
    return output;
  }

  // ------------------------------------------------------------ registration

  #checkName(name: string): void {
    if (name === '' || name.includes('.')) {
      throw new TsnasError('internal', `module member name must be non-empty and have no dot, got "${name}"`);
    }
    if (this.#parameters.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new TsnasError('internal', `"${name}" is already registered in ${this.constructor.name}`);
    }
  }

  /**
   * Makes t a parameter of this module (requiresGrad set, kept out of
   * scopes, freed by dispose()). null registers an absent parameter (e.g. no bias).
   */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    this.#checkName(name);
    if (t) {
      t.keep();
      if (!t.requiresGrad) t.requiresGrad = true;
    }
    this.#parameters.set(name, t);
    return t;
  }

  /** Makes t a buffer: saved in stateDict() (unless not persistent), moved by to(), freed by dispose(). */
  registerBuffer<T extends Tensor | null>(name: string, t: T, options: { persistent?: boolean } = {}): T {
    this.#checkName(name);
    t?.keep();
    this.#buffers.set(name, t);
    if (options.persistent === false) this.#nonPersistent.add(name);
    return t;
  }

  registerModule<M extends AnyModule | null>(name: string, m: M): M {
    this.#checkName(name);
    this.#children.set(name, m);
    return m;
  }

  /** Own (non-recursive) parameter by name, or null if absent. */
  getParameter(name: string): Tensor | null {
    return this.#parameters.get(name) ?? null;
  }
  getBuffer(name: string): Tensor | null {
    return this.#buffers.get(name) ?? null;
  }
  getModule(name: string): AnyModule | null {
    return this.#children.get(name) ?? null;
  }

  // ------------------------------------------------------------ traversal

  /** Direct children, in registration order. */
  children(): AnyModule[] {
    return this.namedChildren().map(([, m]) => m);
  }
  namedChildren(): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    for (const [name, m] of this.#children) if (m) out.push([name, m]);
    return out;
  }
  /** This module and all its descendants, depth first, each once. */
  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }
  namedModules(prefix = ''): [string, AnyModule][] {
    const seen = new Set<AnyModule>();
    const out: [string, AnyModule][] = [];
    const visit = (m: AnyModule, p: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [name, child] of m.namedChildren()) visit(child, p ? `${p}.${name}` : name);
    };
    visit(this, prefix);
    return out;
  }

  /** Parameters with dotted names; a parameter shared by two modules appears once. */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.#parameters) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }
  namedBuffers(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.#buffers) {
        if (!b || seen.has(b)) continue;
        seen.add(b);
        out.push([prefix ? `${prefix}.${name}` : name, b]);
      }
    }
    return out;
  }
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.numel;
    return n;
  }

  /** Calls fn on every module (children first, as torch's apply), returns this. */
  apply(fn: (m: AnyModule) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  // ------------------------------------------------------------ modes

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  // ------------------------------------------------------------ hooks

  registerForwardHook(hook: ForwardHook<I, O>): HookRemover {
    const id = this.#nextHookId++;
    this.#forwardHooks.set(id, hook as UntypedHook);
    return () => {
      this.#forwardHooks.delete(id);
    };
  }
  registerForwardPreHook(hook: ForwardPreHook<I, O>): HookRemover {
    const id = this.#nextHookId++;
    this.#preHooks.set(id, hook as UntypedHook);
    return () => {
      this.#preHooks.delete(id);
    };
  }

  // ------------------------------------------------------------ gradients

  /** Drops every parameter's gradient (torch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Sets requiresGrad on every parameter (e.g. false to freeze). */
  requiresGrad_(requires = true): this {
    for (const p of this.parameters()) p.requiresGrad = requires;
    return this;
  }

  // ------------------------------------------------------------ state

  /**
   * Parameters and persistent buffers under dotted names (torch's naming).
   * The tensors are the module's own (not copies): do not dispose them.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of m.#parameters) if (p) out[key(name)] = p;
      for (const [name, b] of m.#buffers) if (b && !m.#nonPersistent.has(name)) out[key(name)] = b;
    }
    return out;
  }

  /**
   * Copies values from dict into this module's parameters and buffers (same
   * tensors, so optimizers holding them stay valid). Every key and shape is
   * checked before anything is copied; a shape mismatch always fails, missing
   * or unexpected keys fail when strict (the default). The caller keeps
   * ownership of dict's tensors.
   */
  loadStateDict(
    dict: Record<string, Tensor> | Map<string, Tensor>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !(k in own));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts: string[] = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.map((k) => `"${k}"`).join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}`);
      throw new TsnasError('data', `state dict does not match ${this.constructor.name}: ${parts.join('; ')}`);
    }
    const pairs: [Tensor, Tensor][] = [];
    for (const [key, target] of Object.entries(own)) {
      const source = entries.get(key);
      if (!source) continue;
      const want = target.shape;
      const got = source.shape;
      if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
        throw new TsnasError(
          'data',
          `state dict key "${key}": expected shape [${want.join(', ')}], found [${got.join(', ')}]`,
        );
      }
      pairs.push([target, source]);
    }
    noGrad(() => {
      for (const [target, source] of pairs) target.copy_(source);
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Moves every parameter and buffer to device (e.g. 'cuda'). Tensors are
   * replaced, so create optimizers after moving. Fields of a module that
   * pointed at a replaced tensor are updated to the new one.
   */
  to(device: string): this {
    const moved = new Map<Tensor, Tensor>();
    const move = (t: Tensor, isParam: boolean): Tensor => {
      const done = moved.get(t);
      if (done) return done;
      if (t.device === device) {
        moved.set(t, t);
        return t;
      }
      const next = noGrad(() => t.to({ device })).keep();
      if (isParam) next.requiresGrad = t.requiresGrad;
      moved.set(t, next);
      return next;
    };
    for (const m of this.modules()) {
      for (const [name, p] of m.#parameters) if (p) m.#parameters.set(name, move(p, true));
      for (const [name, b] of m.#buffers) if (b) m.#buffers.set(name, move(b, false));
      const fields = m as unknown as Record<string, unknown>;
      for (const key of Object.keys(fields)) {
        const value = fields[key];
        if (value instanceof Tensor && moved.has(value)) fields[key] = moved.get(value);
      }
    }
    for (const [from, next] of moved) if (from !== next) from.dispose();
    return this;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const p of m.#parameters.values()) p?.dispose();
      for (const b of m.#buffers.values()) b?.dispose();
      m.#disposed = true;
    }
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    const lines = this.namedChildren().map(([n, c]) => `  (${n}): ${c.toString().replace(/\n/g, '\n  ')}`);
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    return lines.length ? `${head}\n${lines.join('\n')}\n)` : `${head})`;
  }
  /** Extra text for toString(), e.g. layer sizes. */
  extraRepr(): string {
    return '';
  }
}

/**
 * Throws a usage error naming `where` unless the network takes images of
 * [channels, height, width]: one forward pass on a zero image, in eval mode
 * without gradients. A network that downsamples fails on images too small
 * or of the wrong parity only deep inside (a shortcut that no longer
 * matches its branch); this finds it before any training.
 */
export function checkNetworkInput(net: Module, shape: readonly [number, number, number], where: string): void {
  const wasTraining = net.training;
  net.eval();
  try {
    tidy(() => {
      noGrad(() => net.call(zeros([1, ...shape])));
    });
  } catch (e) {
    if (e instanceof TsnasError) throw e;
    const [c, h, w] = shape;
    throw new TsnasError('usage', `the network cannot take ${c}x${h}x${w} images (${(e as Error).message.split('\n')[0]}); use a larger size, or one its downsampling divides`, { where, cause: e });
  } finally {
    net.train(wasTraining);
  }
}
