// Render the API's OpenAPI document with Swagger UI, which the page loads before this script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  // No badge that would send the document to the public online validator.
  validatorUrl: null,
});
