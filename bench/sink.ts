import { createServer } from 'node:http';

/**
 * A chat endpoint that accepts and counts messages (`POST /messages`, as the
 * bridge posts to Flowdock and the Probot target to its chat); `GET /count`
 * answers how many arrived. Any other request answers 404 and is not counted.
 */
let received = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') return void res.end(String(received));
  const message = req.method === 'POST' && req.url?.split('?')[0] === '/messages';
  req.resume();
  req.on('end', () => {
    if (message) received += 1;
    res.statusCode = message ? 200 : 404;
    res.end(message ? '{}' : '{"error":"not found"}');
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
