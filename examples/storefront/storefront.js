// A storefront on its own origin, talking to the shop API with the repository's own client
// (clients/js, imported as @shop-backoffice/client through index.html's import map).
//
// Open index.html?api=https://api.example.com/api&key=pk_… (the API lists this page's origin
// in CORS_ALLOWED_ORIGINS). A signed-in customer's session is either the payload-token cookie
// the API sets (HttpOnly: this script never sees it) or a token the client keeps and sends as
// "Authorization: JWT …".
import { createClient } from '@shop-backoffice/client'

const settings = new URLSearchParams(location.search)
const API = settings.get('api') ?? 'http://127.0.0.1:8000/api'
const PUBLISHABLE_KEY = settings.get('key') ?? 'pk_…'

let mode = 'cookie' // or 'token'
let customer = null

// One client per session mode. The cookie is sent and set only with credentials: 'include' (and
// for an allowed origin); a token session sends no cookie at all.
const connect = (sessionMode) =>
  createClient({
    publishableKey: PUBLISHABLE_KEY,
    baseUrl: API,
    credentials: sessionMode === 'cookie' ? 'include' : 'omit',
  })
let client = connect(mode)

// A cookie session keeps no token in the page: the cookie alone is the session.
const keepToken = () => {
  if (mode === 'cookie') client.auth.setToken(null)
}

const $ = (selector) => document.querySelector(selector)
const money = (amount, currency = 'KRW') =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount)
const until = (exp) => new Date(exp * 1000).toLocaleTimeString('en-GB')

function row(tag, text, ...children) {
  const element = document.createElement(tag)
  element.textContent = text
  element.append(...children)
  return element
}

function button(label, onClick) {
  const element = row('button', label)
  element.addEventListener('click', () => run(onClick))
  return element
}

async function run(action) {
  $('#notice').textContent = ''
  try {
    await action()
  } catch (error) {
    $('#notice').textContent = error.message // the API's errors[0].message
  }
}

// Products: the publishable key alone reads the catalog.
async function showProducts() {
  const { docs } = await client.from('products').find({
    where: { isActive: { equals: true } },
    select: { title: true, price: true },
    sort: 'title',
    depth: 0,
  })
  $('#products').replaceChildren(...docs.map((p) => row('li', `${p.title} — ${money(p.price)}`)))
}

function showSession(user, exp) {
  customer = user
  $('#signed-out').hidden = Boolean(user)
  $('#signed-in').hidden = !user
  $('#order').hidden = true
  $('#who').textContent = user ? user.name : ''
  $('#session').textContent = user ? `${mode} session until ${until(exp)}` : ''
}

async function signIn(email, password, sessionMode) {
  mode = sessionMode
  client = connect(mode)
  const answer = await client.auth.login({ email, password }) // the client keeps the token
  keepToken() // else the API has set its cookie
  showSession(answer.user, answer.exp)
  await showOrders()
}

// My orders: the seeds' query.
async function showOrders() {
  if (!customer) {
    $('#orders').replaceChildren()
    return
  }
  const { docs } = await client.from('orders').find({
    where: { customer: { equals: customer.id } },
    sort: '-createdAt',
    limit: 10,
    select: { orderNumber: true, status: true, totalAmount: true, currency: true },
  })
  $('#orders').replaceChildren(
    ...docs.map((order) =>
      row(
        'li',
        `${order.orderNumber} · ${order.status} · ${money(order.totalAmount, order.currency)} `,
        button('Open', () => openOrder(order.id)),
      ),
    ),
  )
}

// One order at depth 1: its items, payments, parcels and returns come as joins.
async function openOrder(id) {
  const order = await client.from('orders').findById(id, { depth: 1 })
  $('#order').hidden = false
  $('#order-number').textContent = order.orderNumber
  $('#order-status').textContent = order.status
  const returnable = ['delivered', 'confirmed'].includes(order.status)
  $('#items').replaceChildren(
    ...order.items.docs.map((item) => {
      const line = row('tr', '')
      line.append(row('td', item.title), row('td', item.sku), row('td', `× ${item.quantity}`))
      if (returnable) line.append(row('td', '', button('Return one', () => requestReturn(order, item))))
      return line
    }),
  )
  $('#payments').replaceChildren(
    ...order.transactions.docs.map((t) =>
      row('li', `${t.kind} · ${money(t.amount, order.currency)} · ${t.paymentMethod} · ${t.status}`),
    ),
  )
  $('#parcels').replaceChildren(
    ...order.fulfillments.docs.map((parcel) => {
      const tracking = parcel.trackingUrl
        ? Object.assign(row('a', parcel.trackingNumber), { href: parcel.trackingUrl })
        : row('span', parcel.trackingNumber)
      return row('li', `${parcel.carrierName} · ${parcel.status} · `, tracking)
    }),
  )
  $('#returns').replaceChildren(
    ...order.returns.docs.map((r) => row('li', `Return ${r.id} · ${r.reason} · ${r.status}`)),
  )
}

async function requestReturn(order, item) {
  await client.from('returns').create({
    order: order.id,
    reason: 'defective',
    items: [{ orderItem: item.id, quantity: 1 }],
  })
  await Promise.all([openOrder(order.id), showOrders()])
  $('#notice').textContent = `Return of one ${item.title} requested.`
}

async function stayIn() {
  const answer = await client.auth.refreshToken() // the client keeps the refreshed token
  keepToken() // else the API has set a new cookie
  showSession(answer.user, answer.exp)
  await showOrders()
  $('#notice').textContent = 'Session renewed.'
}

async function signOut() {
  await client.auth.logout() // the client forgets its token; the API clears its cookie
  mode = 'cookie'
  client = connect(mode)
  showSession(null)
  await showOrders()
}

$('#login').addEventListener('submit', (event) => {
  event.preventDefault()
  const chosen = new FormData(event.target).get('session')
  run(() => signIn($('#email').value, $('#password').value, chosen))
})
$('#refresh').addEventListener('click', () => run(stayIn))
$('#logout').addEventListener('click', () => run(signOut))

await run(async () => {
  await showProducts()
  // A cookie session from an earlier visit carries on.
  const me = await client.auth.me()
  showSession(me.user, me.exp)
  await showOrders()
})
document.body.dataset.ready = 'true'
