'use strict';
// reviews: two reader reviews, served at GET /reviews/<id>. SERVICE_VERSION
// picks the flavour, as in Istio's sample: v1 shows no ratings, v2 black
// stars and v3 red stars; v2 and v3 fetch the stars from the ratings service.

const { serve, serverInfo, sendJson, productId, fetchJson, forwardedHeaders, serviceUrl } = require('./common');

const info = serverInfo();
const RATINGS_URL = serviceUrl('RATINGS_URL', 'ratings');
const STAR_COLOR = { v2: 'black', v3: 'red' };
// Shorter than productpage's 2.5 s deadline on reviews, so that a slow
// ratings service shows as "ratings unavailable" rather than losing the
// whole reviews section.
const RATINGS_TIMEOUT_MS = 2000;

const REVIEWS = Object.freeze([
  {
    reviewer: 'Reviewer1',
    text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
  },
  {
    reviewer: 'Reviewer2',
    text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
  },
]);

async function reviewsFor(id, inboundHeaders) {
  const color = STAR_COLOR[info.version];
  if (color === undefined) {
    return { id, reviews: REVIEWS.map((r) => ({ ...r })), ratingsServer: null };
  }
  const answer = await fetchJson(`${RATINGS_URL}/ratings/${id}`, forwardedHeaders(inboundHeaders), RATINGS_TIMEOUT_MS);
  const ratings = answer.ok && answer.body && typeof answer.body.ratings === 'object' ? answer.body.ratings : null;
  const reviews = REVIEWS.map((r) => {
    const stars = ratings ? ratings[r.reviewer] : undefined;
    const rating = typeof stars === 'number'
      ? { stars, color }
      : { error: `Ratings service is currently unavailable (${answer.ok ? 'no rating' : answer.error})` };
    return { ...r, rating };
  });
  const ratingsServer = answer.ok
    ? { pod: answer.body.pod, node: answer.body.node, version: answer.body.version }
    : { error: answer.error };
  return { id, reviews, ratingsServer };
}

serve('reviews', info.version, async (req, res, url) => {
  const id = productId(url.pathname, 'reviews');
  if (req.method !== 'GET' || id === null) {
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}; try GET /reviews/0`, ...info });
    return;
  }
  const result = await reviewsFor(id, req.headers);
  sendJson(res, 200, { ...result, ...info });
});
