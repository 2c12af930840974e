// Runs the product documents' snippets, as TypeScript modules, against a live server with the
// client in clients/js standing in for '@01.software/sdk', and prints what they declared.
//
// stdin: {"clientDir": ".../clients/js", "env": {NAME: value},
//         "blocks": [{"name": "...", "source": "<preamble>\n<snippet>", "report": ["order"]}]}
// Each block becomes one module in a temporary folder whose node_modules/@01.software/sdk is a
// link to clientDir. All blocks are first type-checked together (strict) against the client's
// declarations, then transpiled (types stripped, nothing else changed) and imported in turn.
// stdout: {"typeErrors": ["block: message"], "results": [{"ok": true, "value": {name: value}}
//          | {"ok": false, "status": 403, "errors": [...], "message": "..."}
//          | {"ok": false, "error": "stack"}]}
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const read = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const plan = await read()
const ts = createRequire(join(plan.clientDir, 'package.json'))('typescript')
Object.assign(process.env, plan.env)

const dir = mkdtempSync(join(tmpdir(), 'snippets-'))
const output = { typeErrors: [], results: [] }
try {
  mkdirSync(join(dir, 'node_modules', '@01.software'), { recursive: true })
  symlinkSync(plan.clientDir, join(dir, 'node_modules', '@01.software', 'sdk'), 'dir')
  const files = plan.blocks.map((block, index) => {
    const file = join(dir, `block_${index}.ts`)
    const exported = block.report.length ? `export { ${block.report.join(', ')} }` : 'export {}'
    writeFileSync(file, `${block.source}\n${exported}\n`)
    return file
  })
  writeFileSync(
    join(dir, 'globals.d.ts'),
    'declare const process: { env: Record<string, string | undefined> }\n',
  )
  const options = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
  }
  const program = ts.createProgram([...files, join(dir, 'globals.d.ts')], options)
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const where = d.file ? plan.blocks[files.indexOf(d.file.fileName)]?.name ?? d.file.fileName : ''
    output.typeErrors.push(`${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
  }
  for (const [index, file] of files.entries()) {
    const { outputText } = ts.transpileModule(ts.sys.readFile(file), {
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
      },
    })
    const module = file.replace(/\.ts$/, '.mjs')
    writeFileSync(module, outputText)
    try {
      const exports = await import(pathToFileURL(module).href)
      const value = Object.fromEntries(plan.blocks[index].report.map((name) => [name, exports[name]]))
      output.results.push({ ok: true, value })
    } catch (error) {
      if (error?.name === 'ApiError') {
        output.results.push({
          ok: false, status: error.status, errors: error.errors, message: error.message,
        })
      } else {
        output.results.push({ ok: false, error: String(error?.stack ?? error) })
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
process.stdout.write(JSON.stringify(output))
