// Reads an embedpipe output folder with DuckDB (an independent Parquet reader) and checks the table's contract:
// every embedding has the manifest's dimensions and unit norm, chunk_id is unique, token counts stay within
// chunk.max_tokens, and row counts match the manifest (for a Delta table, a first run's). Usage: node .ci/check-table.mjs OUTPUT_DIR
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, readdirSync } from 'node:fs';

const out = process.argv[2];
const manifest = JSON.parse(readFileSync(`${out}/manifest.json`, 'utf8'));

// output.format=delta: the files of the latest version, from the _delta_log JSON commits replayed here (adds less
// removes); DuckDB then reads exactly those. Parquet output: every file in the folder.
function embeddingFiles() {
  if (manifest.outputs.format !== 'delta') return `'${out}/embeddings/*'`;
  const log = `${out}/embeddings/_delta_log`;
  const live = new Set();
  for (const name of readdirSync(log).filter((n) => /^\d{20}\.json$/.test(n)).sort()) {
    for (const line of readFileSync(`${log}/${name}`, 'utf8').split('\n').filter((l) => l.trim())) {
      const action = JSON.parse(line);
      if (action.add) {
        if (action.add.deletionVector) throw new Error(`deletion vector in ${name}: the files alone do not give the rows`);
        live.add(decodeURIComponent(action.add.path));
      }
      if (action.remove) live.delete(decodeURIComponent(action.remove.path));
    }
  }
  return '[' + [...live].map((p) => `'${out}/embeddings/${p}'`).join(', ') + ']';
}
const db = await (await DuckDBInstance.create(':memory:')).connect();
const one = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJson()[0];

const t = await one(`
  SELECT count(*) AS rows,
         count(DISTINCT chunk_id) AS ids,
         min(len(embedding)) AS min_dims, max(len(embedding)) AS max_dims,
         min(sqrt(list_sum(list_transform(embedding, x -> x * x)))) AS min_norm,
         max(sqrt(list_sum(list_transform(embedding, x -> x * x)))) AS max_norm,
         max(token_count) AS max_tokens,
         sum(token_count) AS tokens
  FROM read_parquet(${embeddingFiles()})`);
const r = await one(`SELECT count(*) AS rows FROM read_parquet('${out}/rejects/*')`);

const dims = manifest.model.dimensions;
const maxTokens = manifest.config.chunk.max_tokens;
const failures = [];
const expect = (ok, what) => { if (!ok) failures.push(what); };
expect(Number(t.rows) === manifest.totals.embedded + manifest.totals.cached,
  `rows ${t.rows} != manifest embedded + cached ${manifest.totals.embedded + manifest.totals.cached}`);
expect(Number(t.rows) > 0, 'the table is empty');
expect(t.ids === t.rows, `chunk_id not unique: ${t.ids} ids for ${t.rows} rows`);
expect(Number(t.min_dims) === dims && Number(t.max_dims) === dims, `embedding sizes ${t.min_dims}..${t.max_dims} != ${dims}`);
expect(Math.abs(t.min_norm - 1) <= 1e-3 && Math.abs(t.max_norm - 1) <= 1e-3, `norms ${t.min_norm}..${t.max_norm}`);
expect(Number(t.max_tokens) <= maxTokens, `a chunk has ${t.max_tokens} tokens > ${maxTokens}`);
expect(Number(t.tokens) === manifest.totals.tokens, `tokens ${t.tokens} != manifest ${manifest.totals.tokens}`);
expect(Number(r.rows) === manifest.totals.rejected, `rejects ${r.rows} != manifest ${manifest.totals.rejected}`);
expect(manifest.totals.reconciled === true, 'manifest counts do not reconcile');

console.log(`duckdb: ${t.rows} rows, ${dims} dims, norms ${Number(t.min_norm).toFixed(6)}..${Number(t.max_norm).toFixed(6)}, `
  + `max ${t.max_tokens} tokens/chunk, ${r.rows} rejects`);
if (failures.length) {
  console.error('table check FAILED:\n  ' + failures.join('\n  '));
  process.exit(1);
}
console.log('table check passed');
