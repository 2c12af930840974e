// Runs a list of @payloadcms/sdk calls against a live server and prints their results as JSON.
//
// stdin: {"baseURL": "http://127.0.0.1:PORT/api", "callers": {"server": {headers}, ...},
//         "steps": [{"op": "find", "as": "server", "args": {...}}, ...]}
// A step "as" a login step's index ({"as": {"login": 3}}) sends that customer's token as
// "Authorization: JWT <token>" with the storefront's headers. Inside args, {"$ref": [i, "a.b"]}
// is replaced by the value at a.b in step i's result.
// stdout: [{"ok": true, "value": ...} | {"ok": false, "status": 404, "errors": [...]}, ...]
import { PayloadSDK, PayloadSDKError } from '@payloadcms/sdk'

const read = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const at = (value, path) => path.split('.').filter(Boolean).reduce((v, key) => v?.[key], value)

const resolve = (value, results) => {
  if (Array.isArray(value)) return value.map((item) => resolve(item, results))
  if (value && typeof value === 'object') {
    if (Array.isArray(value.$ref)) {
      const [index, path] = value.$ref
      return at(results[index].value, path)
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, results)]))
  }
  return value
}

const headersFor = (who, plan, results) => {
  if (typeof who === 'string') return plan.callers[who]
  const token = results[who.login].value.token
  return { ...plan.callers[who.with ?? 'storefront'], Authorization: `JWT ${token}` }
}

const plan = await read()
const results = []
for (const step of plan.steps) {
  const sdk = new PayloadSDK({
    baseURL: plan.baseURL,
    baseInit: { headers: headersFor(step.as, plan, results) },
  })
  try {
    const value = await sdk[step.op](resolve(step.args, results))
    results.push({ ok: true, value })
  } catch (error) {
    if (!(error instanceof PayloadSDKError)) throw error
    results.push({ ok: false, status: error.status, errors: error.errors })
  }
}
process.stdout.write(JSON.stringify(results))
