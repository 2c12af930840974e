import { ApiError } from './errors.js'
import { buildSearchParams } from './query.js'

// Query parameters of reads; everything else in an options object is about the request.
const QUERY_KEYS = [
  'depth', 'page', 'limit', 'pagination', 'sort', 'select', 'where', 'populate', 'joins',
  'draft', 'trash', 'locale', 'fallbackLocale',
]

const env = () => globalThis.process?.env ?? {}

/** True in a web page or a web worker (where anything shipped is visible to its user). */
export const inBrowser = () =>
  (typeof globalThis.window !== 'undefined' && typeof globalThis.window.document !== 'undefined') ||
  (typeof globalThis.WorkerGlobalScope !== 'undefined' &&
    globalThis.self instanceof globalThis.WorkerGlobalScope)

/**
 * The API root: the baseUrl option, else SHOP_API_URL (or NEXT_PUBLIC_SHOP_API_URL) from the
 * environment, else the page's own origin; `/api` is added unless the URL already ends with it.
 */
export const apiUrl = (baseUrl) => {
  const base =
    baseUrl ?? env().SHOP_API_URL ?? env().NEXT_PUBLIC_SHOP_API_URL ?? globalThis.location?.origin
  if (!base) {
    throw new Error(
      'No API address: pass baseUrl (e.g. "https://shop.example.com") or set SHOP_API_URL.',
    )
  }
  const trimmed = String(base).replace(/\/+$/, '')
  return trimmed.endsWith('/api') ? trimmed : `${trimmed}/api`
}

const pick = (options, keys) =>
  Object.fromEntries(Object.entries(options ?? {}).filter(([key]) => keys.includes(key)))

const segment = (value) => encodeURIComponent(String(value))

/** The request core every call goes through. */
export class Transport {
  /**
   * @param {{ apiUrl: string, headers: () => Record<string, string>, fetch?: typeof fetch,
   *   credentials?: RequestCredentials }} options
   */
  constructor({ apiUrl, headers, fetch, credentials }) {
    this.apiUrl = apiUrl
    this.headers = headers
    this.fetch = fetch ?? ((...args) => globalThis.fetch(...args))
    this.credentials = credentials
  }

  async request({ method, path, query, body, options = {} }) {
    const headers = new Headers(this.headers())
    if (body !== undefined) headers.set('Content-Type', 'application/json')
    if (options.idempotencyKey) headers.set('Idempotency-Key', options.idempotencyKey)
    for (const [name, value] of new Headers(options.headers ?? {})) headers.set(name, value)
    const init = { method, headers }
    if (body !== undefined) init.body = JSON.stringify(body)
    if (this.credentials) init.credentials = this.credentials
    if (options.signal) init.signal = options.signal
    const url = `${this.apiUrl}${path}${buildSearchParams(pick(query, QUERY_KEYS))}`
    const response = await this.fetch(url, init)
    const text = await response.text()
    let json = null
    try {
      json = text ? JSON.parse(text) : null
    } catch {
      // not JSON: a proxy's error page, say
    }
    if (!response.ok) {
      const errors = Array.isArray(json?.errors) && json.errors.length
        ? json.errors
        : [{ message: json?.message ?? (response.statusText || `HTTP ${response.status}`) }]
      throw new ApiError({ status: response.status, errors, response })
    }
    return json
  }
}

/** `client.from(slug)`: the calls of one collection. */
export class Collection {
  constructor(transport, slug) {
    this.transport = transport
    this.slug = slug
    this.path = `/${segment(slug)}`
  }

  /** GET /api/<slug>: `{ docs, totalDocs, limit, totalPages, page, … }`. */
  find(options = {}) {
    return this.transport.request({ method: 'GET', path: this.path, query: options, options })
  }

  /** GET /api/<slug>/<id>: the document. */
  findById(id, options = {}) {
    const path = `${this.path}/${segment(id)}`
    return this.transport.request({ method: 'GET', path, query: options, options })
  }

  /** GET /api/<slug>/count: `{ totalDocs }`. */
  count(options = {}) {
    const path = `${this.path}/count`
    return this.transport.request({ method: 'GET', path, query: pick(options, ['where']), options })
  }

  /** POST /api/<slug>: the created document. */
  async create(data, options = {}) {
    const answer = await this.transport.request({
      method: 'POST', path: this.path, query: pick(options, ['depth']), body: data, options,
    })
    return answer.doc
  }

  /** PATCH /api/<slug>/<id>: the updated document. */
  async update(id, data, options = {}) {
    const answer = await this.transport.request({
      method: 'PATCH', path: `${this.path}/${segment(id)}`, query: pick(options, ['depth']),
      body: data, options,
    })
    return answer.doc
  }

  /** DELETE /api/<slug>/<id>: the deleted document. */
  async delete(id, options = {}) {
    const answer = await this.transport.request({
      method: 'DELETE', path: `${this.path}/${segment(id)}`, query: pick(options, ['depth']),
      options,
    })
    return answer.doc
  }
}
