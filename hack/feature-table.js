#!/usr/bin/env node
// Writes the README's config-field table from docs/config-fields.json, the
// list test/unit/config-fields.test.ts audits against the published schema.
//   node hack/feature-table.js           prints the table
//   node hack/feature-table.js --write   replaces it in README.md
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..');
const BEGIN = '<!-- config-fields:begin (node hack/feature-table.js --write) -->';
const END = '<!-- config-fields:end -->';
const KIND_WORDS = { applied: 'applied', refused: 'refused', meaningless: 'not for Linux' };

function loadFields(file = path.join(repo, 'docs', 'config-fields.json')) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The fields of a group as one short cell: their common parent, then what differs. */
function fieldCell(fields) {
  const split = fields.map((f) => f.replace(/\/$/, '').split('/').slice(1));
  let common = 0;
  while (split.every((s) => s.length > common + 1 && s[common] === split[0][common])) common++;
  const prefix = split[0].slice(0, common).join('/');
  const rest = [...new Set(split.map((s) => s.slice(common).join('/')))];
  const subtree = fields.some((f) => f.endsWith('/')) ? '/…' : '';
  if (rest.length === 1) return `\`/${[prefix, rest[0]].filter(Boolean).join('/')}${subtree}\``;
  const shown = rest.length > 6 ? `${rest.slice(0, 5).join(', ')}, … (${rest.length} fields)` : rest.join(', ');
  return `\`/${prefix}${prefix ? '/' : ''}{${shown}}${subtree}\``;
}

function renderTable(doc = loadFields()) {
  const rows = doc.groups.map((g) => `| ${g.feature} | ${fieldCell(g.fields).replace(/\|/g, '\\|')} | ${KIND_WORDS[g.kind]}: ${g.status.replace(/\|/g, '\\|')} |`);
  return [BEGIN, '| feature | config.json fields | what tsrun does |', '| --- | --- | --- |', ...rows, END].join('\n');
}

/** README.md with its table replaced by `table`; throws when the markers are missing. */
function withTable(readme, table) {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${BEGIN} ... ${END}`);
  return readme.slice(0, start) + table + readme.slice(end + END.length);
}

module.exports = { renderTable, withTable, loadFields };

if (require.main === module) {
  const table = renderTable();
  if (process.argv[2] === '--write') {
    const file = path.join(repo, 'README.md');
    fs.writeFileSync(file, withTable(fs.readFileSync(file, 'utf8'), table));
  } else {
    process.stdout.write(table + '\n');
  }
}
