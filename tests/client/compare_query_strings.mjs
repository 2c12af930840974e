// The URLs @payloadcms/sdk and clients/js request for the same find, findById and count calls,
// through a fetch that answers without a network.
// stdin: {"client": "file:///.../clients/js/src/index.js", "sdk": "file:///.../sdk/dist/index.js",
//         "queries": [{where, sort, limit, ...}]}
// stdout: {"ours": [url, ...], "payload": [url, ...]}
const read = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const plan = await read()
const { createClient } = await import(plan.client)
const { PayloadSDK } = await import(plan.sdk)

const recorder = () => {
  const urls = []
  const fetch = async (url) => {
    urls.push(String(url))
    return new Response('{"docs": [], "totalDocs": 0}', { status: 200 })
  }
  return { urls, fetch }
}

const ours = recorder()
const client = createClient({ publishableKey: 'pk_x', baseUrl: 'http://shop.test', fetch: ours.fetch })
const payload = recorder()
const sdk = new PayloadSDK({ baseURL: 'http://shop.test/api', fetch: payload.fetch })

for (const query of plan.queries) {
  await client.from('orders').find(query)
  await sdk.find({ collection: 'orders', ...query })
  await client.from('orders').findById(5, query)
  await sdk.findByID({ collection: 'orders', id: 5, ...query })
  await client.from('orders').count({ where: query.where })
  await sdk.count({ collection: 'orders', where: query.where })
}
process.stdout.write(JSON.stringify({ ours: ours.urls, payload: payload.urls }))
