import type { KV, KvEntry, KvPutOptions } from '@nats-io/kv';
import * as z from 'zod';

/**
 * A stored KV value that cannot be read: not JSON (`not_json`) or JSON that fails the schema (`schema`).
 * Anyone allowed to publish on the bucket's subjects can write such a value, so each caller decides the
 * safe reading; `detail` is the parser's explanation, `cause` its error.
 */
export class KvValueInvalid extends Error {
  override name = 'KvValueInvalid';
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly revision: number,
    readonly problem: 'not_json' | 'schema',
    readonly detail: string,
    options: ErrorOptions,
  ) {
    super(
      `KV bucket "${bucket}" key "${key}" (revision ${revision}) holds ${problem === 'not_json' ? 'a value that is not JSON' : 'JSON that does not match its schema'}: ${detail}; ` +
        `put a valid value there or delete the key (nats kv del ${bucket} ${key})`,
      options,
    );
  }
}

/** A value refused before it was written to KV because it fails the schema: the writer builds it wrong. */
export class KvValueRefused extends Error {
  override name = 'KvValueRefused';
  constructor(
    readonly key: string,
    readonly detail: string,
    options: ErrorOptions,
  ) {
    super(
      `not storing KV key "${key}": the value does not match its schema: ${detail}; fix the code that builds it`,
      options,
    );
  }
}

/**
 * JSON values of one schema in a KV bucket: the only place a KV entry is parsed, so every reader treats a
 * deleted or purged key alike (absent) and an unreadable value alike (`KvValueInvalid`).
 */
export class KvJsonStore<S extends z.ZodType> {
  constructor(
    private readonly kv: KV,
    private readonly schema: S,
  ) {}

  /** The value under `key`, or null when the key is absent, deleted or purged. Throws `KvValueInvalid`. */
  async get(key: string): Promise<z.output<S> | null> {
    const entry = await this.kv.get(key);
    // Deleting or purging a key leaves an entry behind: a marker without a value.
    if (entry?.operation !== 'PUT') return null;
    return this.decode(entry);
  }

  /** Validates `value` (throws `KvValueRefused`) and stores what the schema gives; resolves to the revision. */
  async put(key: string, value: z.input<S>, opts?: Partial<KvPutOptions>): Promise<number> {
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) throw new KvValueRefused(key, z.prettifyError(parsed.error), { cause: parsed.error });
    return this.kv.put(key, JSON.stringify(parsed.data), opts);
  }

  /** Marks `key` deleted (history is kept); `get` reads it as absent. */
  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  private decode(entry: KvEntry): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(entry.string());
    } catch (err) {
      throw new KvValueInvalid(
        entry.bucket,
        entry.key,
        entry.revision,
        'not_json',
        err instanceof Error ? err.message : String(err),
        { cause: err },
      );
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success)
      throw new KvValueInvalid(entry.bucket, entry.key, entry.revision, 'schema', z.prettifyError(parsed.error), {
        cause: parsed.error,
      });
    return parsed.data;
  }
}
