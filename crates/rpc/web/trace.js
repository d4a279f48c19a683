// Formica's product verification page: fetches a proof bundle from the node, verifies it with
// the node's wasm verifier (formica-verify), and shows only what verified.
'use strict';

const byId = (id) => document.getElementById(id);

function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function verdict(state, title, detail) {
  document.body.dataset.verdict = state;
  byId('verdict').firstChild.textContent = title;
  byId('verdict-detail').textContent = detail;
}

function fail(reason) {
  byId('history').replaceChildren();
  verdict('failed', 'NOT VERIFIED: do not trust this history', reason);
}

function utc(ms) {
  return new Date(Number(ms)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function render(report) {
  const history = byId('history');
  history.replaceChildren();
  for (const record of report.lineage) {
    const section = element('section', undefined, 'record');
    section.dataset.batch = record.id;
    section.appendChild(element('h2', `${record.kind === 'item' ? 'Item' : 'Batch'} ${record.id}`));
    const fields = element('dl');
    const rows = [
      ['Product', record.product],
      ['Origin', record.origin],
      ['Owner', record.owner],
      ['Split from', record.parent || '(origin)'],
      ['Registered', `${utc(record.created_ms)} (block ${record.created_height})`],
      ['Attributes hash', record.attributes_hash],
      ['Documents hash', record.document_hash],
    ];
    for (const [label, value] of rows) {
      fields.appendChild(element('dt', label));
      fields.appendChild(element('dd', value));
    }
    section.appendChild(fields);
    const table = element('table');
    const head = element('tr');
    for (const label of ['#', 'Event', 'Time', 'Location', 'By', 'Evidence']) head.appendChild(element('th', label));
    table.appendChild(head);
    for (const event of record.events) {
      const row = element('tr');
      row.appendChild(element('td', event.index));
      row.appendChild(element('td', event.kind));
      row.appendChild(element('td', `${utc(event.timestamp_ms)} (block ${event.height})`));
      row.appendChild(element('td', event.location));
      row.appendChild(element('td', event.actor, 'hash'));
      row.appendChild(element('td', event.evidence, 'hash'));
      table.appendChild(row);
    }
    if (record.events.length === 0) {
      const row = element('tr');
      const cell = element('td', 'No events recorded.');
      cell.colSpan = 6;
      row.appendChild(cell);
      table.appendChild(row);
    }
    section.appendChild(table);
    history.appendChild(section);
  }
  verdict(
    'verified',
    `Verified: ${report.events} events in ${report.lineage.length} record(s)`,
    `Proven in block ${report.height} (${report.block_hash}), finalized ${utc(report.block_timestamp_ms)} ` +
      `by a quorum of epoch ${report.epoch}'s ${report.validators} validators, ` +
      `trusted from the link's checkpoint of epoch ${report.anchor_epoch}.`,
  );
}

async function verify(owner, id, epoch, digest) {
  const reply = await fetch('/', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'formica_getTraceBundle', params: [owner, id, epoch] }),
  }).then((response) => response.json());
  if (reply.error) throw new Error(`the node gave no proof: ${reply.error.message}`);
  const bytes = await fetch('/verify/verifier.wasm').then((response) => response.arrayBuffer());
  const module = await WebAssembly.compile(bytes);
  // The verifier imports wasm-bindgen's placeholders, because its dependencies are built for
  // wasm-bindgen's generated glue, which this page does not use. Exactly one is ever called:
  // getrandom's `crypto.getRandomValues(buffer)` (with the buffer passed as pointer and length
  // into the module's memory), which seeds the hash map in ed25519 batch verification. The
  // page provides that one; every other import fails loudly, so a call could only turn into a
  // visible failure, never a pass. The browser test runs the whole path.
  let memory = null;
  const imports = {};
  for (const { module: name, name: field, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') throw new Error(`the verifier imports a ${kind} (${name}.${field})`);
    imports[name] = imports[name] || {};
    if (name === '__wbindgen_placeholder__' && field.startsWith('__wbg_getRandomValues_')) {
      imports[name][field] = (pointer, length) => {
        crypto.getRandomValues(new Uint8Array(memory.buffer, pointer >>> 0, length >>> 0));
      };
    } else {
      imports[name][field] = () => {
        throw new Error(`the verifier called the host function ${name}.${field}`);
      };
    }
  }
  const instance = await WebAssembly.instantiate(module, imports);
  memory = instance.exports.memory;
  const exports = instance.exports;
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const request = new TextEncoder().encode(
    JSON.stringify({ anchor: `0x${digest}`, seed: `0x${hex(seed)}`, owner, id, bundle: reply.result }),
  );
  const input = exports.formica_alloc(request.length);
  new Uint8Array(exports.memory.buffer, input, request.length).set(request);
  const packed = BigInt.asUintN(64, BigInt(exports.formica_verify_trace(input, request.length)));
  exports.formica_free(input, request.length);
  const output = Number(packed >> 32n);
  const length = Number(packed & 0xffffffffn);
  const answer = JSON.parse(new TextDecoder().decode(new Uint8Array(exports.memory.buffer, output, length)));
  exports.formica_free(output, length);
  return answer;
}

async function main() {
  const parts = location.pathname.split('/').filter(Boolean);
  const owner = decodeURIComponent(parts[2] || '');
  const id = decodeURIComponent(parts[3] || '');
  byId('subject').textContent = `${id} from ${owner}`;
  byId('qr').src = `/verify/qr.svg?text=${encodeURIComponent(location.href)}`;
  const anchor = new URLSearchParams(location.hash.slice(1)).get('anchor') || '';
  const match = /^(\d+):0x([0-9a-fA-F]{64})$/.exec(anchor);
  if (!match) {
    fail('This link carries no trust anchor (#anchor=EPOCH:0xDIGEST), so nothing can be checked.');
    return;
  }
  const answer = await verify(owner, id, Number(match[1]), match[2]);
  if (!answer.ok) {
    fail(answer.error);
    return;
  }
  render(answer.report);
}

main().catch((error) => fail(String(error && error.message ? error.message : error)));
