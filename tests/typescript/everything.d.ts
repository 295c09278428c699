// Generated from tests/fixtures/server-everything.tools.json; refresh with UPDATE_SNAPSHOTS=1.
declare namespace everything {
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
