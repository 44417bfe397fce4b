// The Swagger UI page of /_ixserver/docs (api/meta.py): the official OpenAPI description, for
// reading. Its `servers` entry is InvoiceXpress itself, not this server: "Try it out" would send
// the caller's api_key there, so it is off. No validator badge (it would call a third party).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    supportedSubmitMethods: [],
    validatorUrl: null,
  });
});
