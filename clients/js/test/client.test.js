import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { ApiError, createClient, createServerClient } from '../src/index.js'
import { BASE, fakeFetch, PK, SK } from './fake-fetch.js'

const page = (docs) => ({
  docs, totalDocs: docs.length, limit: 10, totalPages: 1, page: 1, pagingCounter: 1,
  hasPrevPage: false, hasNextPage: false, prevPage: null, nextPage: null,
})

describe('createClient (storefront)', () => {
  it("find: the seeds' query, qs-encoded, with the publishable key and no Authorization", async () => {
    const fetch = fakeFetch({ json: page([{ id: 3 }]) })
    const client = createClient({ publishableKey: PK, baseUrl: BASE, fetch })
    const answer = await client.from('orders').find({
      where: { customer: { equals: 7 } }, sort: '-createdAt', limit: 10,
    })
    assert.deepEqual(answer, page([{ id: 3 }]))
    const [call] = fetch.calls
    assert.equal(call.method, 'GET')
    assert.equal(
      call.url,
      `${BASE}/api/orders?limit=10&sort=-createdAt&where%5Bcustomer%5D%5Bequals%5D=7`,
    )
    assert.deepEqual(call.headers, { 'x-publishable-key': PK })
    assert.equal(call.body, undefined)
  })

  it('find: and/or trees, dot paths, empty arrays, sort lists, depth, page, select, joins', async () => {
    const fetch = fakeFetch({ json: page([]) })
    const client = createClient({ publishableKey: PK, baseUrl: BASE, fetch })
    await client.from('order-items').find({
      where: {
        or: [{ status: { equals: 'paid' } }, { status: { in: ['pending', 'failed'] } }],
        'shippingAddress.postalCode': { like: '061' },
        items: { in: [] },
      },
      sort: ['-totalAmount', 'orderNumber'],
      depth: 1,
      page: 2,
      limit: 0,
      pagination: false,
      select: { orderNumber: true },
      joins: { items: { limit: 5 } },
      signal: undefined,
    })
    const query = decodeURIComponent(fetch.calls[0].url.split('?')[1])
    assert.equal(
      query,
      'depth=1&page=2&limit=0&pagination=false&sort=-totalAmount,orderNumber' +
        '&select[orderNumber]=true' +
        '&where[or][0][status][equals]=paid&where[or][1][status][in][0]=pending' +
        '&where[or][1][status][in][1]=failed&where[shippingAddress.postalCode][like]=061' +
        '&where[items][in][]&joins[items][limit]=5',
    )
    // byte for byte what qs-esm makes of it, as @payloadcms/sdk sends it (brackets encoded,
    // except the empty array's, a qs quirk the server reads alike)
    assert.equal(
      fetch.calls[0].url,
      `${BASE}/api/order-items?depth=1&page=2&limit=0&pagination=false&sort=-totalAmount%2CorderNumber` +
        '&select%5BorderNumber%5D=true' +
        '&where%5Bor%5D%5B0%5D%5Bstatus%5D%5Bequals%5D=paid' +
        '&where%5Bor%5D%5B1%5D%5Bstatus%5D%5Bin%5D%5B0%5D=pending' +
        '&where%5Bor%5D%5B1%5D%5Bstatus%5D%5Bin%5D%5B1%5D=failed' +
        '&where%5BshippingAddress.postalCode%5D%5Blike%5D=061' +
        '&where[items][in][]&joins%5Bitems%5D%5Blimit%5D=5',
    )
  })

  it('findById with depth answers the bare document; count answers {totalDocs}', async () => {
    const fetch = fakeFetch({ json: { id: 12, orderNumber: '261125-00000012' } }, { json: { totalDocs: 4 } })
    const client = createClient({ publishableKey: PK, baseUrl: BASE, fetch })
    const order = await client.from('orders').findById(12, { depth: 1 })
    assert.equal(order.orderNumber, '261125-00000012')
    const counted = await client.from('orders').count({ where: { status: { equals: 'paid' } } })
    assert.deepEqual(counted, { totalDocs: 4 })
    assert.equal(fetch.calls[0].url, `${BASE}/api/orders/12?depth=1`)
    assert.equal(
      fetch.calls[1].url,
      `${BASE}/api/orders/count?where%5Bstatus%5D%5Bequals%5D=paid`,
    )
  })

  it('create, update and delete send JSON and answer the document ({doc} unwrapped)', async () => {
    const fetch = fakeFetch(
      { status: 201, json: { doc: { id: 5, quantity: 1 }, message: 'Cart Item successfully created.' } },
      { json: { doc: { id: 5, quantity: 3 }, message: 'Updated successfully.' } },
      { json: { doc: { id: 5 }, message: 'Deleted successfully.' } },
    )
    const client = createClient({ publishableKey: PK, baseUrl: BASE, fetch })
    const items = client.from('cart-items')
    assert.deepEqual(await items.create({ cart: 1, product: 2, quantity: 1 }), { id: 5, quantity: 1 })
    assert.deepEqual(await items.update(5, { quantity: 3 }, { idempotencyKey: 'k-1' }), { id: 5, quantity: 3 })
    assert.deepEqual(await items.delete(5), { id: 5 })
    const [create, update, remove] = fetch.calls
    assert.deepEqual(
      [create.method, create.url, create.body],
      ['POST', `${BASE}/api/cart-items`, { cart: 1, product: 2, quantity: 1 }],
    )
    assert.equal(create.headers['content-type'], 'application/json')
    assert.deepEqual(
      [update.method, update.url, update.body, update.headers['idempotency-key']],
      ['PATCH', `${BASE}/api/cart-items/5`, { quantity: 3 }, 'k-1'],
    )
    assert.deepEqual([remove.method, remove.url, remove.body], ['DELETE', `${BASE}/api/cart-items/5`, undefined])
  })

  it('ids and slugs are escaped into one path segment', async () => {
    const fetch = fakeFetch({ json: {} })
    const client = createClient({ publishableKey: PK, baseUrl: BASE, fetch })
    await client.from('orders').findById('1/../customers')
    assert.equal(fetch.calls[0].url, `${BASE}/api/orders/1%2F..%2Fcustomers`)
  })

  it('login keeps the token and sends it as "JWT <token>"; refresh replaces it; logout forgets it', async () => {
    const user = { id: 7, email: 'jo@example.com', collection: 'customers' }
    const fetch = fakeFetch(
      { json: { message: 'Authentication Passed', user, token: 'tok-1', exp: 1 } },
      { json: { user, collection: 'customers', token: 'tok-1', exp: 1, message: 'Account' } },
      { json: { message: 'Token refresh successful.', refreshedToken: 'tok-2', exp: 2, user } },
      { json: page([]) },
      { status: 403, json: { errors: [{ message: 'You are not allowed to perform this action.' }] } },
      { json: { user: null } },
    )
    const client = createClient({ publishableKey: PK, baseUrl: BASE, fetch })
    const session = await client.auth.login({ email: 'jo@example.com', password: 'pw' })
    assert.equal(session.token, 'tok-1')
    assert.equal(client.auth.getToken(), 'tok-1')
    assert.equal((await client.auth.me()).user.id, 7)
    assert.equal((await client.auth.refreshToken()).refreshedToken, 'tok-2')
    await client.from('orders').find()
    await assert.rejects(client.auth.logout(), ApiError)
    assert.equal(client.auth.getToken(), null)
    await client.auth.me()

    const [login, me, refresh, find, logout, anonymous] = fetch.calls
    assert.deepEqual(
      [login.method, login.url, login.body, login.headers.authorization],
      ['POST', `${BASE}/api/customers/login`, { email: 'jo@example.com', password: 'pw' }, undefined],
    )
    assert.equal(login.headers['x-publishable-key'], PK)
    assert.deepEqual([me.method, me.url, me.headers.authorization], ['GET', `${BASE}/api/customers/me`, 'JWT tok-1'])
    assert.deepEqual(
      [refresh.method, refresh.url, refresh.headers.authorization],
      ['POST', `${BASE}/api/customers/refresh-token`, 'JWT tok-1'],
    )
    assert.deepEqual([find.headers.authorization, find.headers['x-publishable-key']], ['JWT tok-2', PK])
    assert.deepEqual([logout.method, logout.url, logout.headers.authorization], ['POST', `${BASE}/api/customers/logout`, 'JWT tok-2'])
    assert.equal(anonymous.headers.authorization, undefined)
  })

  it('a token given to the constructor or set later is sent; credentials are passed to fetch', async () => {
    const fetch = fakeFetch({ json: page([]) }, { json: page([]) })
    const client = createClient({ publishableKey: PK, baseUrl: BASE, fetch, token: 'kept', credentials: 'include' })
    await client.from('orders').find()
    client.auth.setToken(null)
    await client.from('products').find()
    assert.equal(fetch.calls[0].headers.authorization, 'JWT kept')
    assert.equal(fetch.calls[0].credentials, 'include')
    assert.equal(fetch.calls[1].headers.authorization, undefined)
  })

  it('refuses a secret key, whatever it is called', () => {
    assert.throws(
      () => createClient({ publishableKey: PK, secretKey: SK, baseUrl: BASE }),
      /secret key must never be sent from a browser/,
    )
    assert.throws(() => createClient({ publishableKey: SK, baseUrl: BASE }), /secret key/)
    assert.throws(() => createClient({ baseUrl: BASE }), /publishableKey is missing/)
    assert.throws(() => createClient({ publishableKey: 'abc', baseUrl: BASE }), /must start with "pk_"/)
  })

  it('has no server API', () => {
    const client = createClient({ publishableKey: PK, baseUrl: BASE })
    assert.equal(client.api, undefined)
  })
})

describe('createServerClient', () => {
  it('sends the secret key as "Bearer sk_…" and the publishable key', async () => {
    const fetch = fakeFetch({ json: page([]) })
    const server = createServerClient({ publishableKey: PK, secretKey: SK, baseUrl: BASE, fetch })
    await server.from('transactions').find({ where: { order: { equals: 12 } } })
    assert.deepEqual(fetch.calls[0].headers, { authorization: `Bearer ${SK}`, 'x-publishable-key': PK })
  })

  it('api.createOrder and api.checkout POST the body as it is and answer the order', async () => {
    const order = { id: 31, orderNumber: '261125-00000031', items: { docs: [] } }
    const fetch = fakeFetch(
      { status: 201, json: { doc: order, message: 'Order successfully created.' } },
      { status: 201, json: { doc: { ...order, id: 32 }, message: 'Order successfully created.' } },
    )
    const server = createServerClient({ secretKey: SK, baseUrl: BASE, fetch })
    const body = {
      orderNumber: '261125-12345678',
      customerSnapshot: { name: 'John Doe', email: 'john@example.com' },
      orderProducts: [{ product: 1, variant: 2, option: 3, quantity: 2, unitPrice: 10000 }],
      totalAmount: 20000,
      paymentId: 'pay_123456',
    }
    assert.deepEqual(await server.api.createOrder(body, { idempotencyKey: 'order-1' }), order)
    const checkout = { cartId: 9, paymentId: 'pay_789' }
    assert.equal((await server.api.checkout(checkout)).id, 32)
    assert.deepEqual(
      fetch.calls.map((c) => [c.method, c.url, c.body]),
      [['POST', `${BASE}/api/orders`, body], ['POST', `${BASE}/api/checkout`, checkout]],
    )
    assert.equal(fetch.calls[0].headers['idempotency-key'], 'order-1')
    assert.equal(fetch.calls[0].headers.authorization, `Bearer ${SK}`)
    assert.equal(fetch.calls[0].headers['x-publishable-key'], undefined)
  })

  it('refuses to run in a browser page or worker', (t) => {
    globalThis.window = { document: {} }
    t.after(() => delete globalThis.window)
    assert.throws(
      () => createServerClient({ secretKey: SK, baseUrl: BASE }),
      /runs on a server only: its secret key must never reach a browser/,
    )
    // the storefront's client still works there
    assert.ok(createClient({ publishableKey: PK, baseUrl: BASE }))
  })

  it('says which key is missing or wrong', () => {
    assert.throws(() => createServerClient({ publishableKey: PK, baseUrl: BASE }), /secretKey is missing/)
    assert.throws(() => createServerClient({ secretKey: PK, baseUrl: BASE }), /secretKey must start with "sk_"/)
    assert.throws(
      () => createServerClient({ secretKey: SK, publishableKey: SK, baseUrl: BASE }),
      /publishableKey must start with "pk_"/,
    )
  })
})

describe('errors', () => {
  const client = (fetch) => createServerClient({ secretKey: SK, baseUrl: BASE, fetch })

  it("carry the status and the API's errors array", async () => {
    const validation = {
      errors: [{
        name: 'ValidationError',
        message: 'The following field is invalid: quantity',
        data: { collection: 'order-items', errors: [{ path: 'quantity', message: 'Must be at least 1.' }] },
      }],
    }
    const fetch = fakeFetch({ status: 400, json: validation })
    const error = await client(fetch).api.createOrder({ orderProducts: [] }).catch((e) => e)
    assert.ok(error instanceof ApiError && error instanceof Error)
    assert.equal(error.name, 'ApiError')
    assert.equal(error.status, 400)
    assert.equal(error.message, 'The following field is invalid: quantity')
    assert.deepEqual(error.errors, validation.errors)
    assert.equal(error.response.status, 400)
  })

  for (const [status, errors] of [
    [403, [{ message: 'You are not allowed to perform this action.' }]],
    [404, [{ message: 'Not Found' }]],
    [409, [{ name: 'TransitionError', message: 'Cannot move fulfillment 5 from pending to delivered', data: { status: 'pending', allowed: ['packed'] } }]],
  ]) {
    it(`${status} from find, findById, count, update and delete alike`, async () => {
      const answers = Array.from({ length: 5 }, () => ({ status, json: { errors } }))
      const orders = client(fakeFetch(...answers)).from('orders')
      for (const call of [
        () => orders.find(), () => orders.findById(1), () => orders.count(),
        () => orders.update(1, { status: 'paid' }), () => orders.delete(1),
      ]) {
        await assert.rejects(call(), (e) => e instanceof ApiError && e.status === status && e.errors === e.errors && e.message === errors[0].message)
      }
    })
  }

  it('an answer that is not JSON becomes one error with the status text', async () => {
    const fetch = fakeFetch({ status: 502, statusText: 'Bad Gateway', text: '<html>bad gateway</html>' })
    await assert.rejects(client(fetch).from('orders').find(), {
      name: 'ApiError', status: 502, message: 'Bad Gateway', errors: [{ message: 'Bad Gateway' }],
    })
  })
})

describe('base URL', () => {
  const urlOf = async (options) => {
    const fetch = fakeFetch({ json: page([]) })
    await createClient({ publishableKey: PK, fetch, ...options }).from('orders').find()
    return fetch.calls[0].url
  }

  it('takes the server address, with or without /api and trailing slashes', async () => {
    assert.equal(await urlOf({ baseUrl: 'https://shop.example.com/' }), 'https://shop.example.com/api/orders')
    assert.equal(await urlOf({ baseUrl: 'https://shop.example.com/api/' }), 'https://shop.example.com/api/orders')
    assert.equal(await urlOf({ baseUrl: 'https://example.com/shop' }), 'https://example.com/shop/api/orders')
  })

  it('falls back to SHOP_API_URL, then to the page origin, else says what is missing', async (t) => {
    const saved = { ...process.env }
    t.after(() => {
      process.env = saved
      delete globalThis.location
    })
    process.env.SHOP_API_URL = 'http://10.0.0.5:8000'
    assert.equal(await urlOf({}), 'http://10.0.0.5:8000/api/orders')
    delete process.env.SHOP_API_URL
    process.env.NEXT_PUBLIC_SHOP_API_URL = 'http://10.0.0.6:8000'
    assert.equal(await urlOf({}), 'http://10.0.0.6:8000/api/orders')
    delete process.env.NEXT_PUBLIC_SHOP_API_URL
    globalThis.location = { origin: 'https://store.example.com' }
    assert.equal(await urlOf({}), 'https://store.example.com/api/orders')
    delete globalThis.location
    assert.throws(() => createClient({ publishableKey: PK }), /pass baseUrl .* or set SHOP_API_URL/)
  })
})
