// Compares two embedpipe Parquet outputs with DuckDB (an independent reader): the live tables embeddings/, errors/
// and rejects/ (located through each manifest's outputs section) as sets of rows keyed by chunk_id (rejects:
// source_file + byte_offset), every common column compared exactly (vectors element by element as float32), file
// layout and row order ignored; then the manifest's counts. One line per table, then the first few differences.
// Usage: node compare.mjs BEFORE AFTER [--show N] [--ignore TABLE.COLUMN]... [--vector-tolerance EPS]   Exit 0 iff everything is identical.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const positional = [];
let show = 5;
const ignore = new Set();
let tolerance = 0; // 0: vectors compared exactly; else the largest Euclidean distance still counted as equal
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--show') show = Number(args[++i]);
  else if (args[i] === '--ignore') ignore.add(args[++i]);
  else if (args[i] === '--vector-tolerance') tolerance = Number(args[++i]);
  else positional.push(args[i]);
}
if (positional.length !== 2) {
  console.error('usage: compare.mjs BEFORE AFTER [--show N] [--ignore TABLE.COLUMN]... [--vector-tolerance EPS]');
  process.exit(2);
}
const [before, after] = positional.map((p) => resolve(p));

const manifest = (out) => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
const mb = manifest(before);
const ma = manifest(after);
for (const [out, m] of [[before, mb], [after, ma]]) {
  if ((m.outputs?.format ?? 'parquet') !== 'parquet') {
    console.error(`compare: ${out} is a ${m.outputs.format} table; only Parquet outputs are compared`);
    process.exit(2);
  }
}

// The live files of a table: every .parquet under the location the manifest names (relative to the output folder).
function parquetFiles(out, m, table) {
  const rel = m.outputs?.[table];
  if (rel == null) return [];
  const dir = resolve(out, rel.replace(/^file:/, ''));
  if (!existsSync(dir)) return [];
  const files = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.parquet') && !name.startsWith('.') && !name.startsWith('_')) files.push(p);
    }
  };
  walk(dir);
  return files;
}

const db = await (await DuckDBInstance.create(':memory:')).connect();
const rows = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJson();
const q = (s) => `'${s.replace(/'/g, "''")}'`;
const id = (s) => `"${s.replace(/"/g, '""')}"`;
const cut = (v, n = 160) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? 'null' : s.length > n ? s.slice(0, n) + '…' : s;
};

const KEYS = { embeddings: ['chunk_id'], errors: ['chunk_id'], rejects: ['source_file', 'byte_offset'] };
let allSame = true;

for (const [table, keys] of Object.entries(KEYS)) {
  const side = {};
  for (const [name, out, m] of [['b', before, mb], ['a', after, ma]]) {
    const files = parquetFiles(out, m, table);
    side[name] = { files };
    if (files.length) {
      await db.run(`CREATE OR REPLACE VIEW ${name}_${table} AS SELECT * FROM read_parquet([${files.map(q).join(', ')}])`);
      side[name].cols = (await rows(`DESCRIBE ${name}_${table}`)).map((r) => r.column_name);
      side[name].n = Number((await rows(`SELECT count(*) AS n FROM ${name}_${table}`))[0].n);
    } else {
      side[name].cols = null;
      side[name].n = 0;
    }
  }
  // a table with no files (e.g. no errors/ at all) is an empty table with the other side's columns
  for (const [name, other] of [['b', 'a'], ['a', 'b']]) {
    if (!side[name].files.length && side[other].files.length) {
      await db.run(`CREATE OR REPLACE VIEW ${name}_${table} AS SELECT * FROM ${other}_${table} LIMIT 0`);
      side[name].cols = side[other].cols;
    }
  }
  const diffs = [];
  if (!side.b.files.length && !side.a.files.length) {
    console.log(`${table}: rows before 0, after 0, identical yes (no files on either side)`);
    continue;
  }
  const onlyB = side.b.cols.filter((c) => !side.a.cols.includes(c));
  const onlyA = side.a.cols.filter((c) => !side.b.cols.includes(c));
  if (onlyB.length) diffs.push(`columns only before: ${onlyB.join(', ')}`);
  if (onlyA.length) diffs.push(`columns only after: ${onlyA.join(', ')}`);
  const cols = side.b.cols.filter((c) => side.a.cols.includes(c) && !keys.includes(c) && !ignore.has(`${table}.${c}`));

  for (const name of ['b', 'a']) {
    const dup = await rows(`SELECT ${keys.map(id).join(', ')}, count(*) AS n FROM ${name}_${table}
      GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT ${show}`);
    const ndup = Number((await rows(`SELECT count(*) AS n FROM (SELECT 1 FROM ${name}_${table}
      GROUP BY ${keys.map(id).join(', ')} HAVING count(*) > 1)`))[0].n);
    if (ndup) diffs.push(`${ndup} duplicate keys ${name === 'b' ? 'before' : 'after'}, e.g. ${cut(dup.map((r) => keys.map((k) => r[k]).join('@')))}`);
  }

  const on = keys.map((k) => `b.${id(k)} = a.${id(k)}`).join(' AND ');
  const keyExpr = (t) => keys.map((k) => `CAST(${t}.${id(k)} AS VARCHAR)`).join(` || '@' || `);
  const missing = async (from, other, label) => {
    const n = Number((await rows(`SELECT count(*) AS n FROM ${from}_${table} ${from} ANTI JOIN ${other}_${table} ${other} ON ${on}`))[0].n);
    if (!n) return;
    const ex = await rows(`SELECT ${keyExpr(from)} AS k FROM ${from}_${table} ${from} ANTI JOIN ${other}_${table} ${other} ON ${on} ORDER BY 1 LIMIT ${show}`);
    diffs.push(`${n} keys only ${label}: ${ex.map((r) => r.k).join(', ')}`);
  };
  await missing('b', 'a', 'before');
  await missing('a', 'b', 'after');

  // per column: how many matched rows differ (IS DISTINCT FROM: exact, NULL-aware; lists element by element)
  let note = '';
  const distinct = (c) => c === 'embedding' && tolerance > 0
    ? `(len(b.embedding) IS DISTINCT FROM len(a.embedding) OR list_distance(b.embedding, a.embedding) > ${tolerance})`
    : `b.${id(c)} IS DISTINCT FROM a.${id(c)}`;
  if (cols.includes('embedding') && side.b.files.length && side.a.files.length) {
    const d = (await rows(`SELECT max(list_distance(b.embedding, a.embedding)) AS d FROM b_${table} b JOIN a_${table} a ON ${on}
      WHERE len(b.embedding) = len(a.embedding)`))[0].d;
    if (d !== null && Number(d) > 0) {
      if (Number(d) > tolerance) diffs.push(`largest Euclidean distance between matched vectors: ${d}`);
      else note = `, vectors within ${tolerance} (largest distance ${d})`;
    }
  }
  if (cols.length) {
    const counts = (await rows(`SELECT ${cols.map((c, i) => `count(*) FILTER (WHERE ${distinct(c)}) AS c${i}`).join(', ')}
      FROM b_${table} b JOIN a_${table} a ON ${on}`))[0];
    let shown = 0;
    for (const [i, c] of cols.entries()) {
      const n = Number(counts[`c${i}`]);
      if (!n) continue;
      const ex = await rows(`SELECT ${keyExpr('b')} AS k, b.${id(c)} AS bv, a.${id(c)} AS av FROM b_${table} b JOIN a_${table} a ON ${on}
        WHERE ${distinct(c)} ORDER BY 1 LIMIT ${Math.max(1, show - shown)}`);
      diffs.push(`${n} rows differ in ${c}: ` + ex.map((r) => `${r.k}: ${cut(r.bv, 80)} -> ${cut(r.av, 80)}`).join(' | '));
      shown += ex.length;
    }
  }
  const same = diffs.length === 0 && side.b.n === side.a.n;
  allSame &&= same;
  const ign = [...ignore].filter((x) => x.startsWith(table + '.'));
  console.log(`${table}: rows before ${side.b.n}, after ${side.a.n}, identical ${same ? 'yes' : 'no'}`
    + ` (key ${keys.join('+')}; ${cols.length} columns compared${ign.length ? ', ignored ' + ign.join(' ') : ''}${note})`);
  for (const d of diffs.slice(0, show + 4)) console.log('  ' + d);
}

// The manifest's counts: status, totals, per-input counts (by path), quality, rows, and the requests figures that
// do not depend on timing. The rest (model, config) is reported but does not decide "identical".
function flat(obj, prefix, out = {}) {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flat(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = obj;
  return out;
}
const TIMING = /(^|\.)(latency_ms|seconds_throttled)(\.|$)/;
function counts(m) {
  const inputs = {};
  for (const i of m.inputs ?? []) inputs[i.path] = { bytes: i.bytes, gzip: i.gzip, counts: i.counts };
  const requests = Object.fromEntries(Object.entries(flat(m.requests ?? {}, '')).filter(([k]) => !TIMING.test(k)));
  return flat({ status: m.status, totals: m.totals, inputs, quality: m.quality, rows: m.outputs?.rows, requests }, '');
}
function compareFlat(label, b, a, decides) {
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  const d = keys.filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]));
  if (decides) allSame &&= d.length === 0;
  console.log(`${label}: ${keys.length} fields, identical ${d.length ? 'no' : 'yes'}${d.length ? `, ${d.length} differ` : ''}`);
  for (const k of d.slice(0, show + 5)) console.log(`  ${k}: ${cut(b[k], 80)} -> ${cut(a[k], 80)}`);
}
compareFlat('manifest counts (status, totals, inputs, quality, rows, requests)', counts(mb), counts(ma), true);
const other = (m) => {
  const f = flat({ model: m.model, config: m.config }, '');
  delete f['config.output.path'];
  for (const [k, v] of Object.entries(f)) if (typeof v === 'string') f[k] = v.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT');
  return f;
};
compareFlat('manifest model+config (informational; output.path left out, loopback ports masked)', other(mb), other(ma), false);
console.log(`overall: ${allSame ? 'IDENTICAL' : 'DIFFERENT'} (${before} vs ${after})`);
process.exit(allSame ? 0 : 1);
