import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { it } from 'node:test'

import ts from 'typescript'

it('index.d.ts declares the calls the documents make (strict TypeScript)', () => {
  const file = fileURLToPath(new URL('./types/usage.ts', import.meta.url))
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
  })
  const problems = ts.getPreEmitDiagnostics(program).map((d) =>
    ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  )
  assert.deepEqual(problems, [])
})
