/** Word lists for plausible generated names. */
export const FIRST_NAMES = [
  'Adele', 'Alex', 'Allan', 'Amara', 'Ana', 'Arjun', 'Bianca', 'Ben', 'Carlos', 'Chen', 'Chloe', 'Dana', 'Diego',
  'Elena', 'Emil', 'Fatima', 'Felix', 'Grace', 'Hana', 'Henrik', 'Ines', 'Isaac', 'Jana', 'Joni', 'Kai', 'Karin',
  'Lars', 'Lea', 'Lee', 'Lidia', 'Luca', 'Lynne', 'Maya', 'Megan', 'Miguel', 'Mira', 'Nestor', 'Nina', 'Omar',
  'Patti', 'Pradeep', 'Priya', 'Quinn', 'Rafael', 'Rosa', 'Sami', 'Sara', 'Sofia', 'Tariq', 'Tomas', 'Uma',
  'Victor', 'Wei', 'Yara', 'Yusuf', 'Zoe',
];
export const LAST_NAMES = [
  'Adams', 'Ahmed', 'Berg', 'Brown', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Gupta', 'Hansen',
  'Ito', 'Jensen', 'Kim', 'Kowalski', 'Larsen', 'Lopez', 'Martin', 'Meyer', 'Moreau', 'Nakamura', 'Novak',
  'Okafor', 'Olsen', 'Patel', 'Perez', 'Rossi', 'Santos', 'Schmidt', 'Silva', 'Singh', 'Smith', 'Suzuki',
  'Tanaka', 'Vargas', 'Wagner', 'Wang', 'Weber', 'Williams', 'Young', 'Zhang',
];
export const DEPARTMENTS = [
  'Engineering', 'Finance', 'Human Resources', 'Legal', 'Marketing', 'Operations', 'Sales', 'Security', 'Support',
  'IT', 'Research', 'Procurement',
];
export const JOB_TITLES = [
  'Engineer', 'Senior Engineer', 'Manager', 'Director', 'Analyst', 'Consultant', 'Specialist', 'Administrator',
  'Architect', 'Coordinator', 'Designer', 'Accountant',
];
export const OFFICES = ['Amsterdam', 'Berlin', 'Dublin', 'London', 'Madrid', 'New York', 'Paris', 'Seattle', 'Singapore', 'Tokyo'];
export const GROUP_WORDS = [
  'Alpha', 'Atlas', 'Aurora', 'Beacon', 'Cobalt', 'Delta', 'Ember', 'Falcon', 'Granite', 'Harbor', 'Horizon',
  'Iris', 'Jade', 'Keystone', 'Lumen', 'Meridian', 'Nimbus', 'Orion', 'Pioneer', 'Quartz', 'Sierra', 'Summit',
  'Titan', 'Vertex', 'Zephyr',
];
export const APP_WORDS = [
  'Payroll', 'Expenses', 'CRM', 'Wiki', 'Ticketing', 'Analytics', 'Build', 'Docs', 'Vault', 'Portal', 'Billing',
  'Inventory', 'Recruiting', 'Learning', 'Travel', 'Chat', 'Monitoring', 'Backup', 'Signing', 'Forms',
];
export const APP_ROLE_VALUES = ['Reader', 'Writer', 'Admin', 'Approver', 'Auditor', 'Operator', 'Contributor', 'Owner.All'];
export const EXTERNAL_DOMAINS = ['fabrikam.com', 'northwind.example', 'tailspin.example', 'woodgrove.example', 'litware.example'];

/** Built-in directory role templates: Microsoft's published template ids. */
export const BUILTIN_ROLES: readonly [string, string][] = [
  ['62e90394-69f5-4237-9190-012177145e10', 'Global Administrator'],
  ['fe930be7-5e62-47db-91af-98c3a49a38b1', 'User Administrator'],
  ['f2ef992c-3afb-46b9-b7cf-a126ee74c451', 'Global Reader'],
  ['194ae4cb-b126-40b2-bd5b-6091b380977d', 'Security Administrator'],
  ['5d6b6bb7-de71-4623-b4af-96380a352509', 'Security Reader'],
  ['9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', 'Application Administrator'],
  ['158c047a-c907-4556-b7ef-446551a6b5f7', 'Cloud Application Administrator'],
  ['fdd7a751-b60b-444a-984c-02652fe8fa1c', 'Groups Administrator'],
  ['729827e3-9c14-49f7-bb1b-9608f156bbb8', 'Helpdesk Administrator'],
  ['29232cdf-9323-42fd-ade2-1d097af3e4de', 'Exchange Administrator'],
  ['f28a1f50-f6e7-4571-818b-6a12f2af6b6c', 'SharePoint Administrator'],
  ['e8611ab8-c189-46e8-94e1-60213ab1f814', 'Privileged Role Administrator'],
  ['7be44c8a-adaf-4e2a-84d6-ab2649e08a13', 'Privileged Authentication Administrator'],
  ['c4e39bd9-1100-46d3-8c65-fb160da0071b', 'Authentication Administrator'],
  ['b0f54661-2d74-4c50-afa3-1ec803f12efe', 'Billing Administrator'],
  ['17315797-102d-40b4-93e0-432062caca18', 'Compliance Administrator'],
  ['3a2c62db-5318-420d-8d74-23affee5d9d5', 'Intune Administrator'],
  ['88d8e3e3-8f55-4a1e-953a-9b9898b8876b', 'Directory Readers'],
  ['4a5d8f65-41da-4de4-8968-e035b65339cf', 'Reports Reader'],
  ['69091246-20e8-4a56-aa4d-066075b2a7a8', 'Teams Administrator'],
  ['b1be1c3e-b65d-4f19-8427-f6fa0d97feb9', 'Conditional Access Administrator'],
];
export const GLOBAL_ADMIN_TEMPLATE = '62e90394-69f5-4237-9190-012177145e10';
