// The documents API driven by nothing but fetch(): the same three steps any API client takes.
//   1. Ask the upload endpoint for a plan (with instanceId when replacing a file of an existing record).
//   2. Send the file where the plan says (straight to storage; this server is not in the way for S3/Azure):
//      in one request, or in parts for large files (docs/wire-format.md).
//   3. Create or update the record through the API with {"key", "name"} as the field's value.

const root = document.querySelector("[data-api-client]");
const config = {
  csrfToken: root.dataset.csrfToken,
  planUrl: root.dataset.planUrl,
  apiUrl: root.dataset.apiUrl,
  fieldIds: { file: root.dataset.fileFieldId, image: root.dataset.imageFieldId },
};

async function errorText(response) {
  try {
    return JSON.stringify(await response.json());
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

async function uploadFile(file, fieldId, instanceId) {
  const plan = new FormData();
  plan.append("fieldId", fieldId);
  plan.append("filename", file.name);
  plan.append("size", String(file.size));
  if (file.type) plan.append("contentType", file.type);
  if (instanceId) plan.append("instanceId", String(instanceId));
  const planned = await fetch(config.planUrl, {
    method: "POST",
    body: plan,
    headers: { "X-CSRFToken": config.csrfToken },
  });
  if (!planned.ok) throw new Error(`Upload refused: ${await errorText(planned)}`);
  const { uploadUrl, key } = await planned.json();

  if (uploadUrl.method === "MULTIPART") {
    await uploadInParts(file, uploadUrl.multipart);
  } else {
    let sent;
    if (uploadUrl.method === "POST") {
      // A presigned POST (S3): every field of the plan, then the file.
      const form = new FormData();
      for (const [name, value] of Object.entries(uploadUrl.fields || {})) form.append(name, value);
      form.append(uploadUrl.fileFieldName || "file", file);
      sent = await fetch(uploadUrl.url, { method: "POST", body: form });
    } else {
      // A single PUT (filesystem, Azure) with the plan's headers.
      sent = await fetch(uploadUrl.url, { method: uploadUrl.method, body: file, headers: uploadUrl.headers || {} });
    }
    if (!sent.ok) throw new Error(`Upload failed: ${sent.status}`);
  }
  return { key, name: file.name };
}

// Large files (S3 multipart uploads, Azure block lists) get a "MULTIPART" plan. Its token is the credential for
// four endpoints of this server (no CSRF token needed): sign part URLs, list stored parts, complete, abort.
const PARTS_AT_ONCE = 3;
const MAX_SIGNED_PER_REQUEST = 50;

async function uploadInParts(file, multipart) {
  const { token, partSize, partCount } = multipart;
  async function post(url, fields = {}) {
    const response = await fetch(url, { method: "POST", body: new URLSearchParams({ token, ...fields }) });
    if (!response.ok) throw new Error(`Upload failed: ${await errorText(response)}`);
    return response.json();
  }

  // Part n is the slice [(n - 1) * partSize, n * partSize) of the file, PUT to its signed URL.
  async function sendPart(part) {
    const start = (part.partNumber - 1) * partSize;
    const body = file.slice(start, start + partSize);
    const sent = await fetch(part.url, { method: "PUT", body, headers: part.headers || {} });
    if (!sent.ok) throw new Error(`Upload of part ${part.partNumber} failed: ${sent.status}`);
    // Azure's block ids come with the signed URL; S3 answers with the part's ETag (null if CORS hides it).
    return { partNumber: part.partNumber, etag: part.etag || sent.headers.get("ETag") };
  }

  const done = [];
  try {
    for (let first = 1; first <= partCount; first += MAX_SIGNED_PER_REQUEST) {
      const last = Math.min(first + MAX_SIGNED_PER_REQUEST - 1, partCount);
      const numbers = Array.from({ length: last - first + 1 }, (_, index) => first + index);
      const queue = (await post(multipart.signUrl, { partNumbers: numbers.join(",") })).parts;
      // A few parts at a time: each worker takes the next signed part until none is left (or one fails).
      const worker = async () => {
        try {
          while (queue.length) done.push(await sendPart(queue.shift()));
        } catch (error) {
          queue.length = 0;
          throw error;
        }
      };
      await Promise.all(Array.from({ length: PARTS_AT_ONCE }, worker));
    }
    if (done.some((part) => !part.etag)) {
      // The bucket's CORS rules do not expose ETag: take the ETags from the server's list of stored parts.
      const stored = new Map((await post(multipart.listUrl)).parts.map((part) => [part.partNumber, part.etag]));
      for (const part of done) part.etag ||= stored.get(part.partNumber);
    }
    done.sort((a, b) => a.partNumber - b.partNumber);
    await post(multipart.completeUrl, { parts: JSON.stringify(done) });
  } catch (error) {
    // Discard the parts already stored (best effort: the server's cleanup removes what is left anyway).
    fetch(multipart.abortUrl, { method: "POST", body: new URLSearchParams({ token }) }).catch(() => {});
    throw error;
  }
}

async function callApi(url, method, body) {
  const response = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": config.csrfToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${await errorText(response)}`);
  return response.json();
}

const status = document.getElementById("api-status");
const report = (message) => {
  status.textContent = message;
};

function renderDocuments(documents) {
  const rows = document.getElementById("api-documents");
  rows.replaceChildren();
  for (const doc of documents) {
    const row = rows.insertRow();
    row.insertCell().textContent = doc.title;
    const fileCell = row.insertCell();
    const link = document.createElement("a");
    link.href = doc.file.url;
    link.textContent = doc.file.name;
    fileCell.append(link);
    row.insertCell().textContent = doc.image ? `${doc.image.name} (${doc.image_width} × ${doc.image_height})` : "—";
    const replace = document.createElement("input");
    replace.type = "file";
    replace.setAttribute("aria-label", `Replace the file of ${doc.title}`);
    replace.addEventListener("change", () => replaceFile(doc, replace.files[0]));
    row.insertCell().append(replace);
  }
}

async function refresh() {
  renderDocuments(await callApi(config.apiUrl, "GET"));
}

async function createDocument(event) {
  event.preventDefault();
  const form = event.target;
  const [file] = form.elements.file.files;
  const [image] = form.elements.image.files;
  try {
    report("Uploading…");
    const body = { title: form.elements.title.value, file: await uploadFile(file, config.fieldIds.file) };
    if (image) body.image = await uploadFile(image, config.fieldIds.image);
    const created = await callApi(config.apiUrl, "POST", body);
    report(`Created “${created.title}”.`);
    form.reset();
    await refresh();
  } catch (error) {
    report(error.message);
  }
}

async function replaceFile(doc, file) {
  if (!file) return;
  try {
    report("Uploading…");
    // instanceId: the upload endpoint checks the change permission on this record, not the add permission.
    const value = await uploadFile(file, config.fieldIds.file, doc.id);
    const updated = await callApi(`${config.apiUrl}${doc.id}/`, "PATCH", { file: value });
    report(`Replaced the file of “${updated.title}”.`);
    await refresh();
  } catch (error) {
    report(error.message);
  }
}

document.getElementById("api-create").addEventListener("submit", createDocument);
refresh().catch((error) => report(error.message));
