export {
  requestProvisioning,
  requestRefusal,
  ProvisioningRequestError,
  type ProvisioningRequestInput,
  type ProvisioningRequestErrorCode,
  type RequestOptions,
} from './tasks/request';
