'use strict';

// Stage throttling of the REST API, from `custom.apiThrottling` in serverless.yml:
//
//   apiThrottling:
//     rateLimit: 50            # requests per second, steady, the whole stage
//     burstLimit: 100          # requests at once, the whole stage
//     methods:
//       POST /download-request: {rateLimit: 5, burstLimit: 10}
//
// Serverless Framework v3 has no setting for it: it creates the stage through the
// AWS::ApiGateway::Deployment it names anew on every package, and updates only logs, tracing
// and tags of the stage afterwards. So this plugin writes the limits into that deployment's
// StageDescription, from which CloudFormation sets up the stage, in the packaged template where
// tests/deploy checks them.

class ApiThrottling {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.throttle() };
  }

  throttle() {
    const settings = (this.serverless.service.custom || {}).apiThrottling;
    if (!settings) {
      throw new this.serverless.classes.Error('custom.apiThrottling is not set');
    }
    const resources =
      this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    const deployments = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::ApiGateway::Deployment'
    );
    if (deployments.length !== 1) {
      throw new this.serverless.classes.Error(
        `api-throttling: expected one REST API deployment, found ${deployments.length}`
      );
    }
    const methodSettings = Object.entries(settings.methods || {}).map(([route, limits]) => {
      const [httpMethod, path] = route.split(' ');
      return {
        HttpMethod: httpMethod,
        // A method's path in MethodSettings has its slashes written as ~1.
        ResourcePath: `/${path.replace(/\//g, '~1')}`,
        ThrottlingRateLimit: limits.rateLimit,
        ThrottlingBurstLimit: limits.burstLimit,
      };
    });
    deployments[0].Properties.StageDescription = {
      ThrottlingRateLimit: settings.rateLimit,
      ThrottlingBurstLimit: settings.burstLimit,
      MethodSettings: methodSettings,
    };
  }
}

module.exports = ApiThrottling;
