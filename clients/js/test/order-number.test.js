import assert from 'node:assert/strict'
import { it } from 'node:test'

import { generateOrderNumber } from '../src/index.js'

// The server's format (orders/services.py, generate_order_number): YYMMDD- and eight digits or more.
const FORMAT = /^\d{6}-\d{8,}$/

it("has the server's format, dated in the shop's time zone (Asia/Seoul unless told)", () => {
  const date = new Date('2026-01-01T15:30:00.250Z') // 2026-01-02 00:30:00.250 in Seoul
  const number = generateOrderNumber({ date })
  assert.match(number, FORMAT)
  assert.equal(number.slice(0, 7), '260102-')
  assert.equal(generateOrderNumber({ date, timeZone: 'UTC' }).slice(0, 7), '260101-')
})

it('SHOP_TIME_ZONE sets the default time zone', (t) => {
  const saved = process.env.SHOP_TIME_ZONE
  t.after(() => (saved === undefined ? delete process.env.SHOP_TIME_ZONE : (process.env.SHOP_TIME_ZONE = saved)))
  process.env.SHOP_TIME_ZONE = 'America/New_York'
  assert.equal(generateOrderNumber({ date: new Date('2026-03-01T03:00:00Z') }).slice(0, 7), '260228-')
})

it('never repeats, and sorts by time', () => {
  const numbers = Array.from({ length: 2000 }, () => generateOrderNumber())
  assert.equal(new Set(numbers).size, numbers.length)
  assert.deepEqual([...numbers].sort(), numbers)
  for (const number of numbers) assert.match(number, FORMAT)
  const later = generateOrderNumber({ date: new Date(Date.now() + 60_000) })
  assert.ok(later > numbers.at(-1))
})
