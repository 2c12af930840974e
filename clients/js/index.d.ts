// Type declarations of @shop-backoffice/client (src/index.js).

/** A document as the API renders it: camelCase fields, a numeric id. */
export interface Doc {
  id: number
  createdAt?: string
  updatedAt?: string
  [field: string]: any
}

export type Id = number | string

/** Payload's `where`: fields (dot paths allowed) to operators, combined with `and` / `or`. */
export type Where = {
  and?: Where[]
  or?: Where[]
  [path: string]: WhereField | Where[] | undefined
}

export interface WhereField {
  equals?: unknown
  not_equals?: unknown
  in?: unknown[] | string
  not_in?: unknown[] | string
  exists?: boolean
  greater_than?: number | string
  greater_than_equal?: number | string
  less_than?: number | string
  less_than_equal?: number | string
  like?: string
  not_like?: string
  contains?: string
}

/** Per request: extra headers, an abort signal, an `Idempotency-Key` for writes. */
export interface RequestOptions {
  headers?: HeadersInit
  signal?: AbortSignal
  idempotencyKey?: string
}

export interface FindOptions extends RequestOptions {
  where?: Where
  /** `'-createdAt'`, `'-totalAmount,orderNumber'` or `['-totalAmount', 'orderNumber']`. */
  sort?: string | string[]
  limit?: number
  page?: number
  pagination?: boolean
  depth?: number
  select?: Record<string, unknown>
  populate?: Record<string, unknown>
  joins?: Record<string, unknown> | false
}

export interface FindByIdOptions extends RequestOptions {
  depth?: number
  select?: Record<string, unknown>
  populate?: Record<string, unknown>
  joins?: Record<string, unknown> | false
}

export interface CountOptions extends RequestOptions {
  where?: Where
}

export interface WriteOptions extends RequestOptions {
  depth?: number
}

/** The answer of `find`: a page of documents. */
export interface PaginatedDocs<T = Doc> {
  docs: T[]
  totalDocs: number
  limit: number
  totalPages: number
  page: number
  pagingCounter: number
  hasPrevPage: boolean
  hasNextPage: boolean
  prevPage: number | null
  nextPage: number | null
}

export interface CollectionClient<T = Doc> {
  /** GET /api/<slug>. */
  find(options?: FindOptions): Promise<PaginatedDocs<T>>
  /** GET /api/<slug>/<id>: the document. */
  findById(id: Id, options?: FindByIdOptions): Promise<T>
  /** GET /api/<slug>/count. */
  count(options?: CountOptions): Promise<{ totalDocs: number }>
  /** POST /api/<slug>: the created document. */
  create(data: Record<string, unknown>, options?: WriteOptions): Promise<T>
  /** PATCH /api/<slug>/<id>: the updated document. */
  update(id: Id, data: Record<string, unknown>, options?: WriteOptions): Promise<T>
  /** DELETE /api/<slug>/<id>: the deleted document. */
  delete(id: Id, options?: WriteOptions): Promise<T>
}

export interface LoginAnswer {
  message: string
  user: Doc & { collection: 'customers' }
  token: string
  exp: number
}

export interface MeAnswer {
  user: (Doc & { collection: 'customers' }) | null
  collection?: string
  strategy?: string
  token?: string
  exp?: number
  message?: string
}

export interface RefreshAnswer {
  message: string
  refreshedToken: string
  exp: number
  user: Doc
}

/** A customer's session: the token goes in `Authorization: JWT <token>`. */
export interface Auth {
  login(credentials: { email: string; password: string }, options?: RequestOptions): Promise<LoginAnswer>
  me(options?: RequestOptions): Promise<MeAnswer>
  refreshToken(options?: RequestOptions): Promise<RefreshAnswer>
  /** Forgets the token, whatever the server answers. */
  logout(options?: RequestOptions): Promise<{ message: string }>
  getToken(): string | null
  setToken(token: string | null): void
}

export interface ClientOptions {
  /** `pk_…`. */
  publishableKey: string
  /** Where the server is, e.g. `https://shop.example.com` (`/api` is added). Default:
   * SHOP_API_URL or NEXT_PUBLIC_SHOP_API_URL from the environment, else the page's origin. */
  baseUrl?: string
  /** A customer token kept from an earlier login. */
  token?: string
  /** `'include'` to send the `payload-token` cookie to another origin. */
  credentials?: RequestCredentials
  fetch?: typeof fetch
  /** Refused: a secret key never goes to a browser. */
  secretKey?: never
}

export interface ServerClientOptions {
  /** `sk_…`: `Authorization: Bearer sk_…`. */
  secretKey: string
  /** `pk_…` (optional; sent as X-Publishable-Key). */
  publishableKey?: string
  baseUrl?: string
  fetch?: typeof fetch
}

export interface Client {
  from<T = Doc>(slug: string): CollectionClient<T>
  auth: Auth
}

export interface OrderLine {
  product: Id
  variant?: Id
  option?: Id
  quantity: number
  unitPrice: number
}

export interface Address {
  recipientName: string
  phone: string
  postalCode: string
  address1: string
  address2?: string
}

export interface CustomerSnapshot {
  name?: string
  email?: string
  phone?: string
}

export interface CreateOrderBody {
  orderNumber?: string
  customer?: Id | null
  customerSnapshot?: CustomerSnapshot
  shippingAddress?: Address
  orderProducts: OrderLine[]
  totalAmount?: number
  shippingAmount?: number
  discountAmount?: number
  currency?: string
  paymentId?: string
  paymentMethod?: string
}

export interface CheckoutBody {
  cartId: Id
  orderNumber?: string
  customerSnapshot?: CustomerSnapshot
  shippingAddress?: Address
  totalAmount?: number
  paymentId?: string
  paymentMethod?: string
}

export interface ServerClient {
  from<T = Doc>(slug: string): CollectionClient<T>
  api: {
    /** POST /api/orders: the new order (depth 1). */
    createOrder(body: CreateOrderBody, options?: WriteOptions): Promise<Doc>
    /** POST /api/checkout: the new order (depth 1). */
    checkout(body: CheckoutBody, options?: WriteOptions): Promise<Doc>
  }
}

export function createClient(options: ClientOptions): Client
export function createServerClient(options: ServerClientOptions): ServerClient

/** `YYMMDD-` and eight digits, as the server numbers orders (date in the shop's time zone). */
export function generateOrderNumber(options?: { date?: Date; timeZone?: string }): string

export interface ApiErrorItem {
  message: string
  name?: string
  data?: any
  field?: string
}

/** Every non-2xx answer. */
export class ApiError extends Error {
  name: 'ApiError'
  status: number
  errors: ApiErrorItem[]
  readonly response?: Response
}
