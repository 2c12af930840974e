// Order numbers in the server's own format (orders/services.py, generate_order_number):
// `YYMMDD-` and at least eight digits, the date in the shop's time zone. The server counts its
// digits from a sequence; a client cannot, so these are the milliseconds since midnight, never
// repeated within one process (a number already taken is a 409 from the server).

const DEFAULT_TIME_ZONE = 'Asia/Seoul' // the server's default TIME_ZONE

let lastDay = ''
let lastValue = -1

const formatters = new Map()

const partsIn = (timeZone, date) => {
  let format = formatters.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: '2-digit',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
    formatters.set(timeZone, format)
  }
  return Object.fromEntries(format.formatToParts(date).map(({ type, value }) => [type, value]))
}

/**
 * A new order number such as `261125-52207123`.
 * @param {{ date?: Date, timeZone?: string }} [options] timeZone: the shop's (the server's
 *   TIME_ZONE); default SHOP_TIME_ZONE from the environment, else Asia/Seoul.
 * @returns {string}
 */
export const generateOrderNumber = ({ date = new Date(), timeZone } = {}) => {
  const zone = timeZone ?? globalThis.process?.env?.SHOP_TIME_ZONE ?? DEFAULT_TIME_ZONE
  const p = partsIn(zone, date)
  const day = `${p.year}${p.month}${p.day}`
  let value = ((Number(p.hour) * 60 + Number(p.minute)) * 60 + Number(p.second)) * 1000
  value += date.getUTCMilliseconds()
  if (day === lastDay && value <= lastValue) value = lastValue + 1
  if (day >= lastDay) {
    lastDay = day
    lastValue = value
  }
  return `${day}-${String(value).padStart(8, '0')}`
}
