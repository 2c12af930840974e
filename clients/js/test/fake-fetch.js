// A fetch that answers from a list and remembers every request: no network.
export const fakeFetch = (...answers) => {
  const calls = []
  const fetch = async (url, init = {}) => {
    calls.push({
      url,
      method: init.method,
      headers: Object.fromEntries(new Headers(init.headers)),
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      credentials: init.credentials,
    })
    const next = answers.shift() ?? { status: 200, json: {} }
    const body = next.text ?? JSON.stringify(next.json)
    return new Response(body, { status: next.status ?? 200, statusText: next.statusText })
  }
  fetch.calls = calls
  return fetch
}

export const BASE = 'http://shop.test'
export const PK = 'pk_test_publishable'
export const SK = 'sk_test_secret'
