// The single-page app: it polls its own server's /api/products every 500 ms and shows what
// came back, or the API's error code (the `code` of Portcullis's problem+json answer).
const REFRESH_MS = 500;
const statusBox = document.getElementById('status');
const productRows = document.getElementById('products');
const productChoice = document.getElementById('order-product');
let refreshes = 0;

function errorCode(answer) {
  return (answer.body && typeof answer.body.code === 'string') ? answer.body.code : `HTTP ${answer.status}`;
}

// A request_invalid answer lists what was wrong, as {pointer, message}: show the first.
function validationDetail(answer) {
  const first = answer.body && Array.isArray(answer.body.errors) ? answer.body.errors[0] : undefined;
  return first ? ` (${first.pointer}: ${first.message})` : '';
}

function showError(text) {
  statusBox.className = 'error';
  statusBox.textContent = text;
  productRows.replaceChildren(); // no stale data on an error
}

function showProducts(answer) {
  refreshes += 1;
  statusBox.className = 'ok';
  statusBox.textContent = `Data from the API via Portcullis, served to key "${answer.body.servedTo}" at ${answer.body.servedAt} (refresh ${refreshes})`;
  const rows = answer.body.products.map((product) => {
    const row = document.createElement('tr');
    for (const [text, number] of [[product.name, false], [(product.priceCents / 100).toFixed(2), true], [String(product.stock), true]]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      if (number) cell.className = 'number';
      row.append(cell);
    }
    return row;
  });
  productRows.replaceChildren(...rows);
  if (productChoice.options.length === 0) {
    for (const product of answer.body.products) productChoice.append(new Option(product.name, product.id));
  }
}

async function refresh() {
  try {
    const response = await fetch('/api/products', { cache: 'no-store' });
    const answer = await response.json();
    document.getElementById('title').textContent = `Shop, served by ${answer.instance}`;
    document.title = `Shop (${answer.instance})`;
    if (answer.status === 200) showProducts(answer);
    else showError(`Error from API: ${errorCode(answer)}`);
  } catch {
    showError('Error: the frontend server did not answer');
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

document.getElementById('order-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = document.getElementById('order-result');
  const order = { productId: productChoice.value, quantity: Number(document.getElementById('order-quantity').value) };
  const response = await fetch('/api/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
  const answer = await response.json();
  result.textContent = answer.status === 201
    ? `Order ${answer.body.id} placed: ${answer.body.quantity} × ${answer.body.productId} (by ${answer.body.placedBy})`
    : `Order refused. Error from API: ${errorCode(answer)}${validationDetail(answer)}`;
});

// The direct path: a delegated DPoP token from this page's server, then calls to the gateway.
let direct = null;
async function directApi() {
  if (direct !== null) return direct;
  const { createDpopFetch } = await import('/dpop.js');
  const { gateway } = await (await fetch('/session/gateway')).json();
  const api = await createDpopFetch({
    getToken: async (jkt) => {
      const response = await fetch('/session/api-token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jkt }) });
      const answer = await response.json();
      if (answer.status !== 200) throw new Error(`no token: ${errorCode(answer)}`);
      return answer.body.token;
    },
  });
  direct = { api, gateway };
  return direct;
}

document.getElementById('direct-call').addEventListener('click', async () => {
  const result = document.getElementById('direct-result');
  result.textContent = 'Calling…';
  try {
    const { api, gateway } = await directApi();
    const response = await api(`${gateway}/products?limit=3`);
    const body = await response.json();
    result.dataset.status = String(response.status);
    result.textContent = response.status === 200
      ? `Direct call: ${body.products.length} products, served to key "${body.servedTo}" (HTTP 200)`
      : `Direct call refused: ${body.code ?? `HTTP ${response.status}`}`;
  } catch (error) {
    result.dataset.status = 'error';
    result.textContent = `Direct call failed: ${error.message}`;
  }
});

refresh();
