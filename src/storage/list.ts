/** Listing R2 past its page size. */

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
