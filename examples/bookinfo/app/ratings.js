'use strict';
// ratings: star ratings per reviewer, served at GET /ratings/<id>.

const { serve, serverInfo, sendJson, productId } = require('./common');

const info = serverInfo();

// Istio's sample gives Reviewer1 five stars and Reviewer2 four.
const RATINGS = Object.freeze({ Reviewer1: 5, Reviewer2: 4 });

serve('ratings', info.version, (req, res, url) => {
  const id = productId(url.pathname, 'ratings');
  if (req.method !== 'GET' || id === null) {
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}; try GET /ratings/0`, ...info });
    return;
  }
  sendJson(res, 200, { id, ratings: RATINGS, ...info });
});
