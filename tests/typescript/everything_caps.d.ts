// Generated from tests/fixtures/server-everything.tools.with-client-caps.json; refresh with UPDATE_SNAPSHOTS=1.
declare namespace everything_caps {
  /**
   * Upstream's description: "Echoes back the input string"
   * @mcpTool echo
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function echo(args: {
    /** "Message to echo" */
    message: string;
  }): Promise<unknown>;
  /**
   * Upstream's description: "Demonstrates how annotations can be used to provide metadata about content."
   * @mcpTool get-annotated-message
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function get_annotated_message(args: {
    /** "Type of message to demonstrate different annotation patterns" */
    messageType: "error" | "success" | "debug";
    /**
     * "Whether to include an example image"
     * @default false
     */
    includeImage?: boolean;
  }): Promise<unknown>;
  /**
   * Upstream's description: "Returns all environment variables, helpful for debugging MCP server configuration"
   * @mcpTool get-env
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function get_env(args?: Record<string, unknown>): Promise<unknown>;
  /**
   * Upstream's description: "Returns up to ten resource links that reference different types of resources"
   * @mcpTool get-resource-links
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function get_resource_links(args?: {
    /**
     * "Number of resource links to return (1-10)"
     * @minimum 1
     * @maximum 10
     * @default 3
     */
    count?: number;
  }): Promise<unknown>;
  /**
   * Upstream's description: "Returns a resource reference that can be used by MCP clients"
   * @mcpTool get-resource-reference
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function get_resource_reference(args?: {
    /** @default Text */
    resourceType?: "Text" | "Blob";
    /**
     * "ID of the text resource to fetch"
     * @default 1
     */
    resourceId?: number;
  }): Promise<unknown>;
  /**
   * Upstream's description: "Returns structured content along with an output schema for client data validation"
   * @mcpTool get-structured-content
   */
  function get_structured_content(args: {
    /** "Choose city" */
    location: "New York" | "Chicago" | "Los Angeles";
  }): Promise<{
    /** "Temperature in celsius" */
    temperature: number;
    /** "Weather conditions description" */
    conditions: string;
    /** "Humidity percentage" */
    humidity: number;
  }>;
  /**
   * Upstream's description: "Returns the sum of two numbers"
   * @mcpTool get-sum
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function get_sum(args: {
    /** "First number" */
    a: number;
    /** "Second number" */
    b: number;
  }): Promise<unknown>;
  /**
   * Upstream's description: "Returns a tiny MCP logo image."
   * @mcpTool get-tiny-image
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function get_tiny_image(args?: Record<string, unknown>): Promise<unknown>;
  /**
   * Upstream's description: "Compresses a single file using gzip compression. Depending upon the selected output type, returns either the compressed data as a gzipped resource or a resource link, allowing it to be downloaded in a subsequent request during the current session."
   * @mcpTool gzip-file-as-resource
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function gzip_file_as_resource(args?: {
    /**
     * "Name of the output file"
     * @default README.md.gz
     */
    name?: string;
    /**
     * "URL or data URI of the file content to compress"
     * @format uri
     * @default https://raw.githubusercontent.com/modelcontextprotocol/servers/refs/heads/main/README.md
     */
    data?: string;
    /**
     * "How the resulting gzipped file should be returned. 'resourceLink' returns a link to a resource that can be read later, 'resource' returns a full resource object."
     * @default resourceLink
     */
    outputType?: "resourceLink" | "resource";
  }): Promise<unknown>;
  /**
   * Upstream's description: "Toggles simulated, random-leveled logging on or off."
   * @mcpTool toggle-simulated-logging
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function toggle_simulated_logging(args?: Record<string, unknown>): Promise<unknown>;
  /**
   * Upstream's description: "Toggles simulated resource subscription updates on or off."
   * @mcpTool toggle-subscriber-updates
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function toggle_subscriber_updates(args?: Record<string, unknown>): Promise<unknown>;
  /**
   * Upstream's description: "Demonstrates a long running operation with progress updates."
   * @mcpTool trigger-long-running-operation
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function trigger_long_running_operation(args?: {
    /**
     * "Duration of the operation in seconds"
     * @default 10
     */
    duration?: number;
    /**
     * "Number of steps in the operation"
     * @default 5
     */
    steps?: number;
  }): Promise<unknown>;
  /**
   * Upstream's description: "Lists the current MCP roots provided by the client. Demonstrates the roots protocol capability even though this server doesn't access files."
   * @mcpTool get-roots-list
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function get_roots_list(args?: Record<string, unknown>): Promise<unknown>;
  /**
   * Upstream's description: "Trigger a Request from the Server for User Elicitation"
   * @mcpTool trigger-elicitation-request
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function trigger_elicitation_request(args?: Record<string, unknown>): Promise<unknown>;
  /**
   * Upstream's description: "Trigger a URL elicitation so the client can direct the user to a browser flow. Supports two mechanisms: the request path (elicitation/create, default) which awaits the user's response, and the error path (UrlElicitationRequiredError, -32042) which signals the client to handle URL elicitation via the error response. Set errorPath=true to use the error path."
   * @mcpTool trigger-url-elicitation
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function trigger_url_elicitation(args: {
    /**
     * "The URL the user should open"
     * @format uri
     */
    url: string;
    /**
     * "Message shown to the user before opening the URL"
     * @default Please open the link to complete this action.
     */
    message?: string;
    /** "Optional explicit elicitation ID. Defaults to a random UUID." */
    elicitationId?: string;
    /**
     * "Controls which elicitation mechanism is used. When false (default), sends an elicitation/create request (request path). When true, throws a UrlElicitationRequiredError (MCP error code -32042) so the client handles the URL elicitation via the error path rather than waiting for a response. To clear the error, satisfy the prerequisite and retry this call with the same arguments; the retry ignores errorPath and proceeds, so the client does not loop on the same error."
     * @default false
     */
    errorPath?: boolean;
  }): Promise<unknown>;
  /**
   * Upstream's description: "Trigger a Request from the Server for LLM Sampling"
   * @mcpTool trigger-sampling-request
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function trigger_sampling_request(args: {
    /** "The prompt to send to the LLM" */
    prompt: string;
    /**
     * "Maximum number of tokens to generate"
     * @default 100
     */
    maxTokens?: number;
  }): Promise<unknown>;
  /**
   * Upstream's description: "Simulates a deep research operation that gathers, analyzes, and synthesizes information. Demonstrates MCP task-based operations with progress through multiple stages. If 'ambiguous' is true and client supports elicitation, sends an elicitation request for clarification."
   * @mcpTool simulate-research-query
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function simulate_research_query(args: {
    /** "The research topic to investigate" */
    topic: string;
    /**
     * "Simulate an ambiguous query that requires clarification (triggers input_required status)"
     * @default false
     */
    ambiguous?: boolean;
  }): Promise<unknown>;
}
