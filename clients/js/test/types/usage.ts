// Compiled (not run) by test/types.test.js against index.d.ts: the documents' calls type-check.
import {
  ApiError,
  createClient,
  createServerClient,
  generateOrderNumber,
  type Doc,
  type PaginatedDocs,
} from '@shop-backoffice/client'

export async function usage(customerId: number, orderId: number) {
  const client = createClient({ publishableKey: 'pk_x', baseUrl: 'http://localhost:8000' })
  const session = await client.auth.login({ email: 'jo@example.com', password: 'pw' })
  const token: string = session.token
  const { docs: orders } = await client.from('orders').find({
    where: { customer: { equals: customerId } },
    sort: '-createdAt',
    limit: 10,
  })
  const order: Doc = await client.from('orders').findById(orderId, { depth: 1 })
  const page: PaginatedDocs = await client.from('order-items').find({
    where: { or: [{ order: { equals: orderId } }, { 'order.orderNumber': { like: '26' } }] },
    depth: 1,
  })
  const { totalDocs }: { totalDocs: number } = await client.from('orders').count({ where: {} })
  await client.auth.logout()

  const serverClient = createServerClient({ publishableKey: 'pk_x', secretKey: 'sk_y' })
  const created = await serverClient.api.createOrder({
    orderNumber: generateOrderNumber(),
    orderProducts: [{ product: 'product_id', quantity: 2, unitPrice: 10000 }],
    totalAmount: 20000,
  })
  const orderNumber: string = created.orderNumber
  await serverClient.api.checkout({ cartId: 3, paymentId: 'pay_1' }, { idempotencyKey: 'k' })

  try {
    await serverClient.from('orders').delete(1)
  } catch (error) {
    if (error instanceof ApiError) {
      const status: number = error.status
      const message: string = error.errors[0].message
      return [status, message]
    }
  }
  // @ts-expect-error the storefront's client takes no secret key
  createClient({ publishableKey: 'pk_x', secretKey: 'sk_y' })
  // @ts-expect-error the storefront's client has no server API
  client.api
  // @ts-expect-error the server's client needs its secret key
  createServerClient({ publishableKey: 'pk_x' })
  return [token, orders, order, page, totalDocs, orderNumber]
}
