'use strict';
// productpage: the front end. GET /productpage renders one HTML page from the
// details and reviews services (which in turn call ratings) and says which
// pod and node served each part; /api/v1/products... give the same as JSON.
// A backend that is down or slow shows as an "Error fetching ..." line.

const {
  serve, serverInfo, sendJson, sendHtml, fetchJson, forwardedHeaders, serviceUrl,
} = require('./common');

const info = serverInfo();
const DETAILS_URL = serviceUrl('DETAILS_URL', 'details');
const REVIEWS_URL = serviceUrl('REVIEWS_URL', 'reviews');

const PRODUCTS = Object.freeze([
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml: 'Wikipedia Summary: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. '
      + 'It is his shortest and one of his most farcical comedies, with a major part of the humour coming '
      + 'from slapstick and mistaken identity, in addition to puns and word play.',
  },
]);

const escapeHtml = (value) => String(value)
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Who served a backend answer, or why it could not be fetched. */
function servedBy(answer) {
  if (!answer.ok) return { error: answer.error };
  const { pod, node, version } = answer.body;
  return { pod, node, version };
}

async function productView(id, inboundHeaders) {
  const headers = forwardedHeaders(inboundHeaders);
  const [details, reviews] = await Promise.all([
    fetchJson(`${DETAILS_URL}/details/${id}`, headers),
    fetchJson(`${REVIEWS_URL}/reviews/${id}`, headers),
  ]);
  return {
    id,
    productpage: info,
    details: details.ok ? details.body : { error: `Error fetching product details: ${details.error}` },
    reviews: reviews.ok ? reviews.body : { error: `Error fetching product reviews: ${reviews.error}` },
    servedBy: {
      productpage: { pod: info.pod, node: info.node, version: info.version },
      details: servedBy(details),
      reviews: servedBy(reviews),
      ratings: reviews.ok ? (reviews.body.ratingsServer ?? null) : { error: 'reviews unavailable' },
    },
  };
}

const DETAIL_FIELDS = ['author', 'year', 'type', 'pages', 'publisher', 'language', 'ISBN-10', 'ISBN-13'];

function detailsHtml(details) {
  if (details.error) return `<p class="error">${escapeHtml(details.error)}</p>`;
  const rows = DETAIL_FIELDS.map((f) => `<dt>${escapeHtml(f)}</dt><dd>${escapeHtml(details[f])}</dd>`);
  return `<dl>${rows.join('')}</dl>`;
}

function ratingHtml(rating) {
  if (!rating) return '';
  if (rating.error) return `<p class="error">${escapeHtml(rating.error)}</p>`;
  const stars = Math.max(0, Math.min(5, Math.round(rating.stars)));
  return `<p class="rating"><span style="color: ${escapeHtml(rating.color)}">${'★'.repeat(stars)}${'☆'.repeat(5 - stars)}</span>`
    + ` ratings: ${stars} (${escapeHtml(rating.color)} stars)</p>`;
}

function reviewsHtml(reviews) {
  if (reviews.error) return `<p class="error">${escapeHtml(reviews.error)}</p>`;
  const items = reviews.reviews.map((r) => '<blockquote>'
    + `<p>${escapeHtml(r.text)}</p><small>${escapeHtml(r.reviewer)}</small>${ratingHtml(r.rating)}`
    + '</blockquote>');
  return `<p>reviews version: ${escapeHtml(reviews.version)}</p>${items.join('')}`;
}

function servedByHtml(servedByMap) {
  const rows = Object.entries(servedByMap).map(([service, s]) => {
    if (s === null) return `<tr><td>${service}</td><td colspan="3">not called (reviews v1 shows no ratings)</td></tr>`;
    if (s.error) return `<tr><td>${service}</td><td colspan="3" class="error">${escapeHtml(s.error)}</td></tr>`;
    return `<tr><td>${service}</td><td>pod ${escapeHtml(s.pod)}</td><td>node ${escapeHtml(s.node)}</td>`
      + `<td>${escapeHtml(s.version)}</td></tr>`;
  });
  return `<table><tr><th>service</th><th>pod</th><th>node</th><th>version</th></tr>${rows.join('')}</table>`;
}

function pageHtml(product, view, endUser) {
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Simple Bookstore App</title>
<style>body{font-family:sans-serif;margin:2em} .error{color:#a00} dt{font-weight:bold} td,th{padding:0 1em;text-align:left}</style>
</head>
<body>
<h1>Simple Bookstore App</h1>
${endUser ? `<p>signed in as ${escapeHtml(endUser)}</p>` : ''}
<h2>${escapeHtml(product.title)}</h2>
<p>${product.descriptionHtml}</p>
<h3>Book Details</h3>
${detailsHtml(view.details)}
<h3>Book Reviews</h3>
${reviewsHtml(view.reviews)}
<h3>Served by</h3>
${servedByHtml(view.servedBy)}
</body>
</html>
`;
}

function indexHtml() {
  return '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Simple Bookstore App</title></head><body>'
    + '<h1>Simple Bookstore App</h1><p><a href="/productpage">productpage</a> · '
    + '<a href="/api/v1/products">/api/v1/products</a></p></body></html>\n';
}

function productFromPath(pathname) {
  const match = /^\/api\/v1\/products\/(\d+)(\/reviews)?\/?$/.exec(pathname);
  if (!match) return null;
  const product = PRODUCTS.find((p) => p.id === Number(match[1]));
  return product ? { product, part: match[2] ? 'reviews' : 'all' } : null;
}

serve('productpage', info.version, async (req, res, url) => {
  if (req.method !== 'GET') {
    sendJson(res, 405, { error: `${req.method} is not supported; use GET`, ...info });
    return;
  }
  if (url.pathname === '/' || url.pathname === '/index.html') {
    sendHtml(res, 200, indexHtml());
    return;
  }
  if (url.pathname === '/productpage') {
    const product = PRODUCTS[0];
    const view = await productView(product.id, req.headers);
    const endUser = typeof req.headers['end-user'] === 'string' ? req.headers['end-user'] : '';
    sendHtml(res, 200, pageHtml(product, view, endUser));
    return;
  }
  if (url.pathname === '/api/v1/products' || url.pathname === '/api/v1/products/') {
    sendJson(res, 200, {
      products: PRODUCTS.map((p) => ({ id: p.id, title: p.title })),
      ...info,
    });
    return;
  }
  const found = productFromPath(url.pathname);
  if (found === null) {
    sendJson(res, 404, { error: `no route for GET ${url.pathname}; try /productpage or /api/v1/products/0`, ...info });
    return;
  }
  if (found.part === 'reviews') {
    const reviews = await fetchJson(`${REVIEWS_URL}/reviews/${found.product.id}`, forwardedHeaders(req.headers));
    if (!reviews.ok) {
      sendJson(res, 503, { error: `Error fetching product reviews: ${reviews.error}`, ...info });
      return;
    }
    sendJson(res, 200, { id: found.product.id, reviews: reviews.body, ...info });
    return;
  }
  const view = await productView(found.product.id, req.headers);
  sendJson(res, 200, { id: found.product.id, title: found.product.title, ...view, ...info });
});
