// Drives freshdesk-emulator with the npm `freshdesk-api` client (MIT, 3.1.0),
// which takes any base URL. Run by tests/emulator/node_client.rs as
// `node client.mjs <base_url> <api_key>`; prints one JSON line of what it made.
import Freshdesk from "freshdesk-api";

const [baseUrl, apiKey] = process.argv.slice(2);
const freshdesk = new Freshdesk(baseUrl, apiKey);

// The client's methods take a callback `(err, data, extra)`.
const call = (method, ...args) =>
	new Promise((resolve, reject) =>
		method.call(freshdesk, ...args, (err, data, extra) =>
			err ? reject(err) : resolve({ data, extra })
		)
	);

try {
	const phone = "+15557654321";
	const contact = await call(freshdesk.createContact, {
		name: "Node Caller",
		phone,
		email: "node.caller@example.com",
	});
	const ticket = await call(freshdesk.createTicket, {
		requester_id: contact.data.id,
		subject: `Call from ${phone}`,
		description: "<p>Inbound call</p>",
		status: 2,
		priority: 1,
		source: 3,
	});
	const note = await call(freshdesk.createNote, ticket.data.id, {
		body: "<p>Call lasted 42 s</p>",
		private: true,
	});
	const listed = await call(freshdesk.listAllContacts, { phone });
	console.log(
		JSON.stringify({
			contact: contact.data.id,
			ticket: ticket.data.id,
			requester: ticket.data.requester_id,
			note: note.data.id,
			note_private: note.data.private,
			listed: listed.data.map((c) => c.id),
			page_is_last: listed.extra.pageIsLast,
		})
	);
} catch (err) {
	console.error(
		JSON.stringify({ error: err.message, status: err.status, data: err.data })
	);
	process.exit(1);
}
