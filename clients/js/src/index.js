// @shop-backoffice/client: the interface of the Orders & Tracking documents over the shop
// backoffice's REST API (Payload CMS 3's REST dialect). Runs in browsers and on servers: ES
// modules, fetch, nothing Node-only.
import { apiUrl, Collection, inBrowser, Transport } from './client.js'
import { ApiError } from './errors.js'
import { generateOrderNumber } from './order-number.js'

export { ApiError, generateOrderNumber }

const requireKey = (value, name, prefix, constructor) => {
  if (typeof value !== 'string' || !value) {
    throw new TypeError(`${constructor}: ${name} is missing.`)
  }
  if (!value.startsWith(prefix)) {
    throw new TypeError(`${constructor}: ${name} must start with "${prefix}".`)
  }
}

/** A customer's session on a storefront: the token goes in `Authorization: JWT <token>`. */
class Auth {
  constructor(transport, token) {
    this.transport = transport
    this.token = token ?? null
  }

  getToken() {
    return this.token
  }

  setToken(token) {
    this.token = token ?? null
  }

  /** POST /api/customers/login: `{ message, user, token, exp }`; keeps the token. */
  async login({ email, password }, options = {}) {
    const answer = await this.transport.request({
      method: 'POST', path: '/customers/login', body: { email, password }, options,
    })
    this.token = answer.token ?? null
    return answer
  }

  /** GET /api/customers/me: `{ user, … }` (`user` is null when nobody is logged in). */
  me(options = {}) {
    return this.transport.request({ method: 'GET', path: '/customers/me', options })
  }

  /** POST /api/customers/refresh-token: `{ refreshedToken, exp, user }`; keeps the new token. */
  async refreshToken(options = {}) {
    const answer = await this.transport.request({
      method: 'POST', path: '/customers/refresh-token', options,
    })
    this.token = answer.refreshedToken ?? this.token
    return answer
  }

  /** POST /api/customers/logout; the token is forgotten whatever the server answers. */
  async logout(options = {}) {
    try {
      return await this.transport.request({ method: 'POST', path: '/customers/logout', options })
    } finally {
      this.token = null
    }
  }
}

/**
 * The storefront's client (browsers, and servers acting for a customer): the publishable key,
 * and the customer's token once logged in. It never holds a secret key.
 */
export const createClient = (options = {}) => {
  if (options.secretKey !== undefined || String(options.publishableKey ?? '').startsWith('sk_')) {
    throw new TypeError(
      'createClient: a secret key must never be sent from a browser. Give createClient the ' +
        'publishable key only, and use createServerClient({ publishableKey, secretKey }) on a server.',
    )
  }
  requireKey(options.publishableKey, 'publishableKey', 'pk_', 'createClient')
  let auth
  const transport = new Transport({
    apiUrl: apiUrl(options.baseUrl),
    fetch: options.fetch,
    credentials: options.credentials,
    headers: () => {
      const headers = { 'X-Publishable-Key': options.publishableKey }
      const token = auth.getToken()
      if (token) headers.Authorization = `JWT ${token}`
      return headers
    },
  })
  auth = new Auth(transport, options.token)
  return {
    auth,
    from: (slug) => new Collection(transport, slug),
  }
}

/**
 * The server's client: the secret key (`Authorization: Bearer sk_…`) may do everything the
 * server API offers. Refuses to run in a browser.
 */
export const createServerClient = (options = {}) => {
  if (inBrowser()) {
    throw new Error(
      'createServerClient runs on a server only: its secret key must never reach a browser. ' +
        'Use createClient({ publishableKey }) in the browser.',
    )
  }
  requireKey(options.secretKey, 'secretKey', 'sk_', 'createServerClient')
  if (options.publishableKey !== undefined) {
    requireKey(options.publishableKey, 'publishableKey', 'pk_', 'createServerClient')
  }
  const transport = new Transport({
    apiUrl: apiUrl(options.baseUrl),
    fetch: options.fetch,
    headers: () => {
      const headers = { Authorization: `Bearer ${options.secretKey}` }
      if (options.publishableKey) headers['X-Publishable-Key'] = options.publishableKey
      return headers
    },
  })
  const post = async (path, body, requestOptions = {}) => {
    const answer = await transport.request({
      method: 'POST', path, body, query: { depth: requestOptions.depth }, options: requestOptions,
    })
    return answer.doc
  }
  return {
    from: (slug) => new Collection(transport, slug),
    api: {
      /** POST /api/orders: a new order from lines with prices; answers the order (depth 1). */
      createOrder: (body, requestOptions) => post('/orders', body, requestOptions),
      /** POST /api/checkout: a cart becomes an order; answers the order (depth 1). */
      checkout: (body, requestOptions) => post('/checkout', body, requestOptions),
    },
  }
}
