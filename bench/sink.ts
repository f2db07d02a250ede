import { createServer } from 'node:http';

/** A chat endpoint that accepts and counts messages (for the Probot target). */
let received = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') return void res.end(String(received));
  req.resume();
  req.on('end', () => {
    received += 1;
    res.statusCode = 200;
    res.end('{}');
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
