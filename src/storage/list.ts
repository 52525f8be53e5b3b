/** Listing and deleting R2 keys past one page. */

/**
 * Every key under `prefix` with the prefix removed, or, with `delimited`, every "folder" name directly under it
 * (the part up to the next "/"). In R2's order, which is by key.
 */
export async function listNames(bucket: R2Bucket, prefix: string, delimited = false): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, ...(delimited ? { delimiter: "/" } : {}) });
    if (delimited) for (const p of page.delimitedPrefixes) names.push(p.slice(prefix.length, -1));
    else for (const o of page.objects) names.push(o.key.slice(prefix.length));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return names;
}

/** An object under a prefix, as a listing shows it. */
export interface Listed {
  key: string;
  uploaded: Date;
  size: number;
}

/** Every object under `prefix` with its upload time, in R2's order. */
export async function listObjects(bucket: R2Bucket, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor });
    for (const o of page.objects) out.push({ key: o.key, uploaded: o.uploaded, size: o.size });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return out;
}

/** Deletes these keys, 1000 (R2's most per call) at a time. */
export async function deleteKeys(bucket: R2Bucket, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
}

/** Deletes every object under `prefix`; returns how many there were. */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  const found = await listNames(bucket, prefix);
  await deleteKeys(bucket, found.map((name) => prefix + name));
  return found.length;
}
