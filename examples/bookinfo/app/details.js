'use strict';
// details: the book's bibliographic details, served at GET /details/<id>.

const { serve, serverInfo, sendJson, productId } = require('./common');

const info = serverInfo();

function bookDetails(id) {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

serve('details', info.version, (req, res, url) => {
  const id = productId(url.pathname, 'details');
  if (req.method !== 'GET' || id === null) {
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}; try GET /details/0`, ...info });
    return;
  }
  sendJson(res, 200, { ...bookDetails(id), ...info });
});
