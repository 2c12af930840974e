import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { it } from 'node:test'

// The browser entry imports only its own files and qs-esm (ES modules, browser-safe): no
// node: built-ins, no CommonJS, no process without a guard.
it('the entry imports nothing Node-only', () => {
  const dir = new URL('../src/', import.meta.url)
  for (const name of readdirSync(dir)) {
    const source = readFileSync(new URL(name, dir), 'utf8')
    const imports = [...source.matchAll(/^\s*(?:import|export)\s[^'"]*from\s+['"]([^'"]+)['"]/gm)]
      .map((m) => m[1])
    for (const spec of imports) {
      assert.ok(spec.startsWith('./') || spec === 'qs-esm', `${name} imports ${spec}`)
    }
    assert.doesNotMatch(source, /\brequire\(|\bBuffer\b|\bprocess\.(?!env)/, name)
    for (const use of source.matchAll(/(\S*)\bprocess(?=\??\.)/g)) {
      assert.equal(use[1], 'globalThis.', `${name}: process is read through globalThis`)
    }
  }
  const qs = JSON.parse(readFileSync(new URL('../node_modules/qs-esm/package.json', import.meta.url)))
  assert.equal(qs.type, 'module')
})
